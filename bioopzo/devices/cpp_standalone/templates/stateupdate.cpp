{#
bioopzo's variant of Brian2's cpp_standalone ``stateupdate`` template: the loop
of a NeuronGroup's state updater and run_regularly code over its neurons. The
code objects of groups that run on one thread (pathways.serial_small_groups,
whose code draws no random numbers) mark the loop ``#pragma GCC ivdep``: a
neuron's code reads and writes only its own entries, as Brian2's OpenMP loop
over the same code already assumes, so the compiler may run several neurons in
one vector instruction (nmnist's 800 hidden neurons' step in float32, with
expf vectorised by vector_math.py: 3.7x faster). Every other code object loops
as Brian2's template does.
#}
{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'common_group.cpp' %}

{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const int _N = {{constant_or_scalar('N', variables['N'])}};
    {% if independent_neuron_loops is defined and independent_neuron_loops %}
    // one thread, vectorisable (bioopzo.devices.cpp_standalone.pathways.serial_small_groups)
    #pragma GCC ivdep
    {% else %}
    {{openmp_pragma('parallel-static')}}
    {% endif %}
    for(int _idx=0; _idx<_N; _idx++)
    {
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
{% endblock %}
