{# USES_VARIABLES { _n_sources, _n_targets, delay, _source_dt} #}
{#
bioopzo's variant of Brian2's cpp_standalone ``synapses_push_spikes``
template, for the pathways that bioopzo.pathways gives an ``openmp_schedule``:
such a pathway reads its source's events itself, so nothing is pushed; its
queue is prepared as in Brian2 (the per-source synapse lists that bioopzo's
synapses template walks) only if it is the pathway whose lists the others of
its Synapses and direction share.
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
    {{owner.name}}.prepare({{constant_or_scalar('_n_sources', variables['_n_sources'])}},
                           {{constant_or_scalar('_n_targets', variables['_n_targets'])}},
                           real_delays_data, n_delays, sources,
                           n_synapses,
                           {{_source_dt}});
    {% endif %}
{% endblock %}

{% block maincode %}
    // bioopzo.pathways: nothing to queue; {{owner.name}} walks its source's events itself
{% endblock %}
