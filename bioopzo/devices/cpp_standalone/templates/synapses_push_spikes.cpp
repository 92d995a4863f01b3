{# USES_VARIABLES { _n_sources, _n_targets, delay, _source_dt} #}
{#
bioopzo's variant of Brian2's cpp_standalone ``synapses_push_spikes``
template, for the pathways that bioopzo.pathways gives an ``openmp_schedule``:
such a pathway reads its source's events itself, so nothing is pushed; its
queue is prepared as in Brian2 (the per-source synapse lists that bioopzo's
synapses template walks, one set per build thread, each running thread
preparing the sets of build threads t, t + n, ...) only if it is the pathway
whose lists the others of its Synapses and direction share.
#}
{% extends 'common_group.cpp' %}

{% block before_code %}
    {% if owner.template_kwds.synapse_lists != owner.name %}
    // bioopzo.pathways: {{owner.name}} walks the synapse lists of {{owner.template_kwds.synapse_lists}}
    {% else %}
    {% set scalar = c_data_type(variables['delay'].dtype) %}
    std::vector<{{scalar}}> &real_delays = {{get_array_name(variables['delay'], access_data=False)}};
    {{scalar}}* real_delays_data = real_delays.empty() ? 0 : &(real_delays[0]);
    int32_t* sources = {{owner.name}}.sources.empty() ? 0 : &({{owner.name}}.sources[0]);
    const size_t n_delays = real_delays.size();
    const size_t n_synapses = {{owner.name}}.sources.size();
    {% if openmp_pragma('with_openmp') %}
    // bioopzo.pathways: Brian2's prepare() with one set of synapse lists per build
    // thread, each running thread preparing the sets t, t + n, ... (threads.py): the
    // same lists on as many threads as the build has, or fewer
    {{owner.name}}.Nsource = {{constant_or_scalar('_n_sources', variables['_n_sources'])}};
    {{owner.name}}.Ntarget = {{constant_or_scalar('_n_targets', variables['_n_targets'])}};
    {{ openmp_pragma('parallel') }}
    {
    const int _n_build = {{owner.name}}._nb_threads, _n_running = omp_get_num_threads();
    for(int _build_thread=omp_get_thread_num(); _build_thread<_n_build; _build_thread+=_n_running)
    {
        const int _share = (int)n_synapses / _n_build;
        const int _padding = _build_thread * _share;
        const int _length = _build_thread == _n_build - 1 ? (int)n_synapses - _padding : _share;
        CSpikeQueue* const _queue = {{owner.name}}.queue[_build_thread];
        _queue->openmp_padding = _padding;
        if (n_delays > 1)
            _queue->prepare(&real_delays_data[_padding], _length, &sources[_padding], _length,
                            {{_source_dt}});
        else if (n_delays == 1)
            _queue->prepare(&real_delays_data[0], 1, &sources[_padding], _length, {{_source_dt}});
        else
            _queue->prepare(({{scalar}} *)NULL, 0, &sources[_padding], _length, {{_source_dt}});
    }
    }
    {% else %}
    {{owner.name}}.prepare({{constant_or_scalar('_n_sources', variables['_n_sources'])}},
                           {{constant_or_scalar('_n_targets', variables['_n_targets'])}},
                           real_delays_data, n_delays, sources,
                           n_synapses,
                           {{_source_dt}});
    {% endif %}
    {% endif %}
{% endblock %}

{% block maincode %}
    // bioopzo.pathways: nothing to queue; {{owner.name}} walks its source's events itself
{% endblock %}
