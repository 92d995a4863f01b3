{#
bioopzo's variant of Brian2's cpp_standalone ``reset`` template (the code a
NeuronGroup runs on one of its custom events), for the in-place sample
histories (neurons.py: event ``slot{k}`` copies step k's values into entry k).
Every slot event's code runs in every step, and in all but one of the T steps
of a sample its event holds no neuron; Brian2's template opens an OpenMP
parallel region each time, which on two threads costs more than the copies
themselves. Here one thread walks the event's neurons: no region, nothing to
do when the event is empty.
#}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block maincode %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    const int32_t* const _events = {{_eventspace}};
    const int32_t _num_events = {{_eventspace}}[N];

    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    // one thread (bioopzo.devices.cpp_standalone.pathways.serial_event_code)
    for(int32_t _event=0; _event<_num_events; _event++)
    {
        // vector code
        const size_t _idx = _events[_event];
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
{% endblock %}
