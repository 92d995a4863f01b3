{#
bioopzo's variant of Brian2's cpp_standalone ``summed_variable`` template
(``x_post = ... (summed)``), used for the summed variables that
bioopzo.pathways gives bioopzo's code objects.

Dense layout (``dense_targets`` given: a summed variable of a Synapses between
whole groups): if synapse ``s`` connects ``s / N_post`` to ``s % N_post`` for
every ``s < N_pre N_post`` (what ``connect()`` creates; checked once per run,
at the first step), the sum walks ``j`` for every source ``i`` directly, with
no pre- or postsynaptic index array read and an inner loop the compiler
vectorises. Each target receives its terms in the order of the synapses, as in
Brian2's walk; under -ffast-math the vectorised expression may round
differently from Brian2's scalar one (pathways.py: bitwise for a product, equal
to rounding for OPZO's feedback). Any other layout runs Brian2's walk.
#}
{# USES_VARIABLES { N, _synaptic_pre } #}
{% extends 'common_group.cpp' %}

{% block maincode %}
    {% set _target_var_array = get_array_name(_target_var) %}
    {% set _index_array = get_array_name(_index_var) %}
    //// MAIN CODE ////////////
    {# This enables summed variables for connections to a synapse #}
    const int _target_size = {{constant_or_scalar(_target_size_name, variables[_target_size_name])}};

    // Set all the target variable values to zero
    {{ openmp_pragma('parallel-static') }}
    for (int _target_idx=0; _target_idx<_target_size; _target_idx++)
    {
        {{_target_var_array}}[_target_idx + {{_target_start}}] = 0;
    }

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% if dense_targets is defined and dense_targets %}
    {% set _pre_array = get_array_name(variables['_synaptic_pre']) %}
    // bioopzo: connect()'s layout? (the Synapses do not change within a run)
    static int _dense_layout = -1;
    if (_dense_layout < 0)
    {
        const size_t _n_pre = {{dense_sources}}, _n_post = {{dense_targets}};
        bool _dense = (size_t){{N}} == _n_pre * _n_post;
        for(size_t _s=0; _dense && _s<(size_t){{N}}; _s++)
            _dense = (size_t){{_pre_array}}[_s] == _s / _n_post
                     && (size_t){{_index_array}}[_s] == _s % _n_post;
        _dense_layout = _dense;
    }
    if (_dense_layout)
    {
        // bioopzo: dense layout, every target j of every source i in synapse order
        for(int32_t _dense_source=0; _dense_source<{{dense_sources}}; _dense_source++)
        {
            const size_t _row = (size_t)_dense_source * {{dense_targets}};
            for(int32_t _dense_target=0; _dense_target<{{dense_targets}}; _dense_target++)
            {
                const size_t _idx = _row + _dense_target;
                const size_t _vectorisation_idx = _idx;
                {{vector_code|autoindent|replace(_pre_array ~ '[_idx]', '_dense_source')}}
                {{_target_var_array}}[_dense_target] += _synaptic_var;
            }
        }
    }
    else
    {% endif %}
    {
    for(int _idx=0; _idx<{{N}}; _idx++)
    {
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        {{_target_var_array}}[{{_index_array}}[_idx]] += _synaptic_var;
    }
    }
{% endblock %}
