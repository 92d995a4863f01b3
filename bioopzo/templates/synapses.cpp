{#
bioopzo's variant of Brian2's cpp_standalone ``synapses`` template (the event
code of one synaptic pathway), used for the pathways that bioopzo.pathways gives
an ``openmp_schedule``; every other pathway keeps Brian2's template.

No spike queue: such a pathway has one scalar delay of zero, so Brian2's queue
would deliver, in this step, exactly the synapses of the source neurons in the
source's event space. The code walks those neurons' synapse lists (the lists
Brian2's queue prepared, one set per OpenMP thread) instead of copying them into
the queue first (bioopzo's synapses_push_spikes template then pushes nothing).

- ``"serial"``: one thread walks every thread's lists, in thread order: the
  synapses of Brian2's merged queue in the same order, so the same result bit
  for bit, for any code.
- ``"synaptic"``: the code writes synaptic variables only. Every synapse is in
  exactly one thread's lists and its source fires at most once per step, so
  each thread walks its own lists; no element is written by two threads, and
  every synapse sees the same arithmetic as on one thread (bitwise the same).
- ``"accumulate"``: the code also adds to one postsynaptic variable
  (``X_post += ...``) that it does not otherwise read. Thread 0 adds into the
  variable, every other thread into a zeroed buffer of its own; after a barrier
  the buffers are added in thread order. Deterministic for a given thread count;
  the sum's order, and so its last bits, differ from one thread's.
#}
{% extends 'common_synapses.cpp' %}

{% set _schedule = openmp_schedule %}

{% macro _walk_events(lists) %}
    {% set _eventspace_var = pathway.source.variables[pathway.eventspace_name] %}
    {
    CSpikeQueue* const _lists = {{lists}};
    const int32_t* const _events = {{get_array_name(_eventspace_var, access_data=False)}};
    const int32_t _n_events = _events[{{_eventspace_var.size - 1}}];
    const int32_t _n_sources = _lists->source_end - _lists->source_start;
    for(int32_t _event=0; _event<_n_events; _event++)
    {
        const int32_t _source = _events[_event] - _lists->source_start;
        if (_source < 0 || _source >= _n_sources)
            continue;
        const std::vector<int>& _synapses = _lists->synapses[_source];
        const size_t _n_synapses = _synapses.size();
        for(size_t _k=0; _k<_n_synapses; _k++)
        {
            const size_t _idx = _synapses[_k];
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
        }
    }
    }
{% endmacro %}

{% block maincode %}

    // This is only needed for the _debugmsg function below
    {# USES_VARIABLES { _synaptic_pre } #}

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% if _schedule == 'serial' %}
    // bioopzo.pathways: the source's events, every thread's synapse lists in thread order
    for(int _thread=0; _thread<{{ openmp_pragma('get_num_threads') }}; _thread++)
    {{ _walk_events(synapse_lists ~ '.queue[_thread]') }}
    {% elif _schedule == 'synaptic' %}
    // bioopzo.pathways: synaptic writes only; each thread walks its own synapse lists
    {{ openmp_pragma('parallel') }}
    {{ _walk_events(synapse_lists ~ '.queue[' ~ openmp_pragma('get_thread_num') ~ ']') }}
    {% elif _schedule == 'accumulate' %}
    {% set _acc_ptr = get_array_name(variables[accumulate_variable]) %}
    {% set _acc_type = c_data_type(variables[accumulate_variable].dtype) %}
    // bioopzo.pathways: {{accumulate_variable}} += ... from every thread's own synapse lists,
    // into thread 0's target or a per-thread buffer, then summed in thread order
    static std::vector<{{_acc_type}}> _thread_buffers;
    const int _n_threads = {{ openmp_pragma('get_num_threads') }};
    const size_t _n_accumulated = {{accumulate_size}};
    if (_thread_buffers.size() != (size_t)(_n_threads - 1) * _n_accumulated)
        _thread_buffers.assign((size_t)(_n_threads - 1) * _n_accumulated, 0);
    {{_acc_type}}* const _buffers = _thread_buffers.empty() ? 0 : &_thread_buffers[0];
    {{_acc_type}}* const _accumulated = {{_acc_ptr}};
    {{ openmp_pragma('parallel') }}
    {
    const int _thread = {{ openmp_pragma('get_thread_num') }};
    {
        {{_acc_type}}* __restrict {{_acc_ptr}} = _thread == 0 ? _accumulated
                                                  : _buffers + (size_t)(_thread - 1) * _n_accumulated;
        {{ _walk_events(synapse_lists ~ '.queue[_thread]') }}
    }
    {{ openmp_pragma('barrier') }}
    {{ openmp_pragma('static') }}
    for(size_t _target=0; _target<_n_accumulated; _target++)
    {
        for(int _other=1; _other<_n_threads; _other++)
        {
            {{_acc_type}}& _part = _buffers[(size_t)(_other - 1) * _n_accumulated + _target];
            _accumulated[_target] += _part;
            _part = 0;
        }
    }
    }
    {% endif %}
{% endblock %}


{% block extra_functions_cpp %}
void _debugmsg_{{codeobj_name}}()
{
    using namespace brian;
    std::cout << "Number of synapses: " << {{_dynamic__synaptic_pre}}.size() << endl;
}
{% endblock %}

{% block extra_functions_h %}
void _debugmsg_{{codeobj_name}}();
{% endblock %}

{% macro main_finalise() -%}
#ifdef DEBUG
_debugmsg_{{codeobj_name}}();
#endif
{% endmacro %}
