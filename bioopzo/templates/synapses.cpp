{#
bioopzo's variant of Brian2's cpp_standalone ``synapses`` template (one
synaptic pathway's event code), used only for pathways that bioopzo.openmp
classified. Brian2 runs every pathway that reads or writes a pre- or
postsynaptic variable on OpenMP's master thread alone. With
``openmp_schedule``:

- ``"synaptic"``: the code writes synaptic variables only. Every synapse is in
  exactly one thread's spike queue and at most once per step (one scalar delay),
  so each thread runs the events of its own queue: no write is shared, and every
  synapse sees the same arithmetic as on one thread (bitwise the same result).
- ``"accumulate"``: the code also adds to one postsynaptic variable
  (``X_post += ...``) that it does not otherwise read. Thread 0 adds into the
  variable, every other thread into a zeroed buffer of its own; after a barrier
  the buffers are added in thread order. Deterministic for a given thread count;
  the sum's order, and so its last bits, differ from one thread's.

Without OpenMP, or without a schedule, this is Brian2's template.
#}
{% extends 'common_synapses.cpp' %}

{% set _non_synaptic = [] %}
{% for var in variables %}
    {% if variable_indices[var] not in ('_idx', '0') %}
        {# This is a trick to get around the scoping problem #}
        {% if _non_synaptic.append(1) %}{% endif %}
    {% endif %}
{% endfor %}
{% set _schedule = openmp_schedule|default('') if openmp_pragma('with_openmp') else '' %}

{% block maincode %}

    // This is only needed for the _debugmsg function below
    {# USES_VARIABLES { _synaptic_pre } #}

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% if _schedule == 'synaptic' %}
    // bioopzo.openmp: synaptic writes only; each thread runs its own queue's events
    {{ openmp_pragma('parallel') }}
    {
    std::vector<int32_t> *_spiking_synapses = {{pathway.name}}.queue[{{ openmp_pragma('get_thread_num') }}]->peek();
    const int _num_spiking_synapses = _spiking_synapses->size();
    for(int _spiking_synapse_idx=0;
        _spiking_synapse_idx<_num_spiking_synapses;
        _spiking_synapse_idx++)
    {
        const size_t _idx = (*_spiking_synapses)[_spiking_synapse_idx];
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
    }
    {% elif _schedule == 'accumulate' %}
    {% set _acc_ptr = get_array_name(variables[accumulate_variable]) %}
    {% set _acc_type = c_data_type(variables[accumulate_variable].dtype) %}
    // bioopzo.openmp: {{accumulate_variable}} += ... from every thread's own queue,
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
    std::vector<int32_t> *_spiking_synapses = {{pathway.name}}.queue[_thread]->peek();
    const int _num_spiking_synapses = _spiking_synapses->size();
    {
        {{_acc_type}}* __restrict {{_acc_ptr}} = _thread == 0 ? _accumulated
                                                  : _buffers + (size_t)(_thread - 1) * _n_accumulated;
        for(int _spiking_synapse_idx=0;
            _spiking_synapse_idx<_num_spiking_synapses;
            _spiking_synapse_idx++)
        {
            const size_t _idx = (*_spiking_synapses)[_spiking_synapse_idx];
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
        }
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
    {% else %}
    {{ openmp_pragma('parallel') }}
    {
    std::vector<int> *_spiking_synapses = {{pathway.name}}.peek();
    const int _num_spiking_synapses = _spiking_synapses->size();

    {% if _non_synaptic %}
    {{ openmp_pragma('master') }}
    {
        for(int _spiking_synapse_idx=0;
            _spiking_synapse_idx<_num_spiking_synapses;
            _spiking_synapse_idx++)
        {
            const size_t _idx = (*_spiking_synapses)[_spiking_synapse_idx];
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
        }
    }
    {% else %}
    {{ openmp_pragma('static') }}
    for(int _spiking_synapse_idx=0;
        _spiking_synapse_idx<_num_spiking_synapses;
        _spiking_synapse_idx++)
    {
        const size_t _idx = (*_spiking_synapses)[_spiking_synapse_idx];
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }

    {% endif %}
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
