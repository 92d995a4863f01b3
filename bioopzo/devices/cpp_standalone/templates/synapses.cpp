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
  exactly one of the K build threads' lists and its source fires at most once
  per step, so each running thread walks the lists of build threads t, t + n,
  ... (n running threads, K on an idle machine; threads.py); no element is
  written by two threads, and every synapse sees the same arithmetic as on one
  thread (bitwise the same).
- ``"accumulate"``: the code also adds to one postsynaptic variable
  (``X_post += ...``) that it does not otherwise read. The walk of build
  thread 0's lists adds into the variable, that of every other build thread's
  lists into a zeroed buffer of its own; after a barrier the buffers are added
  in build-thread order. Deterministic for a given build, on any number of
  running threads; the sum's order, and so its last bits, differ from a
  1-thread build's.

Dense layout (``dense_schedule`` given: a pathway from a whole group's
presynaptic neurons to a whole group): if, at the start of the run, synapse
``s`` of the Synapses connects ``s / N_post`` to ``s % N_post`` for every
``s < N_pre N_post`` (what ``connect()`` creates), the synapses of source ``i``
are ``i N_post + j``, and the code walks ``j`` directly: no synapse list, no
pre- or postsynaptic index array is read. The pathway whose lists the others
share checks the layout once per run (``_bioopzo_dense_<that pathway>``); any
other layout walks the lists as above.

- ``"serial"``: one thread walks every ``j``.
- ``"events"``: the code writes synaptic variables only; thread t walks the
  whole rows of a contiguous block of the step's events (a source fires at most
  once per step, so no two threads touch the same synapse).
- ``"targets"``: the code writes synaptic and postsynaptic variables only;
  thread t walks a contiguous block of ``j`` for every event, so no two threads
  touch the same synapse or target. The blocks begin on 64-byte cache lines of
  the written postsynaptic array ``dense_aligned`` (no false sharing).
- ``"accumulate"``: as the list walk's schedule of that name, over K
  contiguous blocks of the step's events (whole rows) instead of the build
  threads' lists.
The first three add into each target in the order of the events, the order of
Brian2's queue: bitwise the result of one thread's list walk.
#}
{% extends 'common_synapses.cpp' %}

{% set _schedule = openmp_schedule %}
{% set _dense = dense_schedule is defined and dense_schedule %}
{% set _dense_flag = '_bioopzo_dense_' ~ synapse_lists %}

{% macro _source_events() %}
    {% set _eventspace_var = pathway.source.variables[pathway.eventspace_name] %}
    const int32_t* const _events = {{get_array_name(_eventspace_var, access_data=False)}};
    const int32_t _n_events = _events[{{_eventspace_var.size - 1}}];
{% endmacro %}

{% macro _walk_events(lists) %}
    {
    CSpikeQueue* const _lists = {{lists}};
    {{ _source_events() }}
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

{% macro _walk_targets(first, last, split_events=False) %}
    {% set _pre_lookup = get_array_name(variables['_synaptic_pre']) ~ '[_idx]' %}
    {% set _post_lookup = get_array_name(variables['_synaptic_post']) ~ '[_idx]' %}
    {
    {{ _source_events() }}
    const int32_t _first_target = {{first}}, _last_target = {{last}};
    {% if split_events %}
    // this thread's contiguous block of the events
    const int32_t _first_event = (int32_t)(((int64_t)_n_events * _thread) / _n_threads);
    const int32_t _last_event = (int32_t)(((int64_t)_n_events * (_thread + 1)) / _n_threads);
    {% else %}
    const int32_t _first_event = 0, _last_event = _n_events;
    {% endif %}
    for(int32_t _event=_first_event; _event<_last_event; _event++)
    {
        const int32_t _dense_source = _events[_event];
        const size_t _row = (size_t)_dense_source * {{dense_targets}};
        for(int32_t _dense_target=_first_target; _dense_target<_last_target; _dense_target++)
        {
            const size_t _idx = _row + _dense_target;
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent|replace(_pre_lookup, '_dense_source')|replace(_post_lookup, '_dense_target')}}
        }
    }
    }
{% endmacro %}

{% macro _accumulate_in_parts(buffers, part) %}
    {#- the accumulate schedules: K parts (K build threads) of the walk, given by
        caller() with ``part`` in 0..K-1; part 0 adds into the accumulated variable,
        part k > 0 into a zeroed buffer of its own; after a barrier the buffers are
        added in part order (deterministic on any number of running threads) #}
    {% set _acc_ptr = get_array_name(variables[accumulate_variable]) %}
    {% set _acc_type = c_data_type(variables[accumulate_variable].dtype) %}
    static std::vector<{{_acc_type}}> {{buffers}};
    const int _n_parts = {{ openmp_pragma('get_num_threads') }};   // the build's threads
    const size_t _n_accumulated = {{accumulate_size}};
    if ({{buffers}}.size() != (size_t)(_n_parts - 1) * _n_accumulated)
        {{buffers}}.assign((size_t)(_n_parts - 1) * _n_accumulated, 0);
    {{_acc_type}}* const _buffers = {{buffers}}.empty() ? 0 : &{{buffers}}[0];
    {{_acc_type}}* const _accumulated = {{_acc_ptr}};
    {{ openmp_pragma('parallel') }}
    {
    const int _n_running = omp_get_num_threads();
    for(int {{part}}=omp_get_thread_num(); {{part}}<_n_parts; {{part}}+=_n_running)
    {
        {{_acc_type}}* __restrict {{_acc_ptr}} = {{part}} == 0 ? _accumulated
                                                 : _buffers + (size_t)({{part}} - 1) * _n_accumulated;
        {{ caller() }}
    }
    {{ openmp_pragma('barrier') }}
    {{ openmp_pragma('static') }}
    for(size_t _target=0; _target<_n_accumulated; _target++)
    {
        for(int _other=1; _other<_n_parts; _other++)
        {
            {{_acc_type}}& _part = _buffers[(size_t)(_other - 1) * _n_accumulated + _target];
            _accumulated[_target] += _part;
            _part = 0;
        }
    }
    }
{% endmacro %}

{% block before_code %}
    {% if _dense and synapse_lists == pathway.name %}
    // bioopzo.pathways: does synapse s connect s / N_post to s % N_post, for every
    // s < N_pre N_post (the layout of connect())? Then every pathway of this
    // Synapses and direction walks the targets directly.
    extern char {{_dense_flag}};
    {
    const std::vector<int32_t>& _pre = {{get_array_name(variables['_synaptic_pre'], access_data=False)}};
    const std::vector<int32_t>& _post = {{get_array_name(variables['_synaptic_post'], access_data=False)}};
    const size_t _n_pre = {{dense_sources}}, _n_post = {{dense_targets}};
    bool _dense = _pre.size() == _n_pre * _n_post && _post.size() == _pre.size();
    for(size_t _s=0; _dense && _s<_pre.size(); _s++)
        _dense = (size_t)_pre[_s] == _s / _n_post && (size_t)_post[_s] == _s % _n_post;
    {{_dense_flag}} = _dense;
    if (getenv("BIOOPZO_PATHWAYS_VERBOSE"))
        std::cout << "bioopzo.pathways: {{synapse_lists}}: "
                  << (_dense ? "dense layout, targets walked directly" : "synapse lists walked")
                  << std::endl;
    }
    {% endif %}
{% endblock %}

{% block maincode %}

    // This is only needed for the _debugmsg function below
    {# USES_VARIABLES { _synaptic_pre, _synaptic_post } #}

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% if _dense %}
    extern char {{_dense_flag}};
    if ({{_dense_flag}})
    {
    {% if dense_schedule == 'targets' %}
    // bioopzo.pathways: dense layout; each thread a contiguous block of targets
    {{ openmp_pragma('parallel') }}
    {
    // the threads running now (the build's or fewer, threads.py)
    const int _n_threads = omp_get_num_threads();
    const int _thread = {{ openmp_pragma('get_thread_num') }};
    const int32_t _n_targets = {{dense_targets}};
    {% if dense_aligned %}
    // blocks that begin on a cache line (64 bytes) of {{dense_aligned}}: no line
    // is written by two threads (false sharing)
    {% set _aligned = get_array_name(variables[dense_aligned]) %}
    const int32_t _per_line = (int32_t)(64 / sizeof({{_aligned}}[0]));
    const int32_t _first_line = (int32_t)(((64 - (uintptr_t){{_aligned}} % 64) % 64)
                                          / sizeof({{_aligned}}[0]));
    {% else %}
    const int32_t _per_line = 1, _first_line = 0;
    {% endif %}
    int32_t _bounds[2];
    for(int _side=0; _side<2; _side++)
    {
        const int _t = _thread + _side;
        const int32_t _even = (int32_t)(((int64_t)_n_targets * _t) / _n_threads);
        int32_t _at = _even <= _first_line ? _first_line
                      : _first_line + (_even - _first_line + _per_line - 1) / _per_line * _per_line;
        _bounds[_side] = _t == 0 ? 0 : _t >= _n_threads ? _n_targets : std::min(_n_targets, _at);
    }
    {{ _walk_targets('_bounds[0]', '_bounds[1]') }}
    }
    {% elif dense_schedule == 'accumulate' %}
    // bioopzo.pathways: dense layout; {{accumulate_variable}} += ... from K contiguous
    // blocks of the step's events (K build threads), each over whole rows, block 0
    // into the target, block t > 0 into a buffer of its own, then summed in block order
    {% call _accumulate_in_parts('_dense_buffers', '_block') %}
        const int _thread = _block, _n_threads = _n_parts;
        {{ _walk_targets('0', dense_targets, split_events=True) }}
    {% endcall %}
    {% elif dense_schedule == 'events' %}
    // bioopzo.pathways: dense layout, synaptic writes only; each thread walks the
    // whole rows of a contiguous block of the step's events
    {{ openmp_pragma('parallel') }}
    {
    // the threads running now (the build's or fewer, threads.py)
    const int _n_threads = omp_get_num_threads();
    const int _thread = {{ openmp_pragma('get_thread_num') }};
    {{ _walk_targets('0', dense_targets, split_events=True) }}
    }
    {% else %}
    // bioopzo.pathways: dense layout, one thread
    {{ _walk_targets('0', dense_targets) }}
    {% endif %}
    }
    else
    {% endif %}
    {
    {% if _schedule == 'serial' %}
    // bioopzo.pathways: the source's events, every thread's synapse lists in thread order
    for(int _thread=0; _thread<{{ openmp_pragma('get_num_threads') }}; _thread++)
    {{ _walk_events(synapse_lists ~ '.queue[_thread]') }}
    {% elif _schedule == 'synaptic' %}
    // bioopzo.pathways: synaptic writes only; each running thread walks the synapse
    // lists of its build threads (all of them on as many threads as the build has)
    {{ openmp_pragma('parallel') }}
    {
    const int _n_running = omp_get_num_threads();
    for(int _build_thread=omp_get_thread_num(); _build_thread<{{ openmp_pragma('get_num_threads') }}; _build_thread+=_n_running)
    {{ _walk_events(synapse_lists ~ '.queue[_build_thread]') }}
    }
    {% elif _schedule == 'accumulate' %}
    // bioopzo.pathways: {{accumulate_variable}} += ... from every thread's own synapse lists,
    // into thread 0's target or a per-thread buffer, then summed in thread order
    {% call _accumulate_in_parts('_thread_buffers', '_build_thread') %}
        {{ _walk_events(synapse_lists ~ '.queue[_build_thread]') }}
    {% endcall %}
    {% endif %}
    }
{% endblock %}


{% block extra_functions_cpp %}
{% if _dense and synapse_lists == pathway.name %}
// bioopzo.pathways: whether {{synapse_lists}}'s Synapses have connect()'s layout (set before each run)
char {{_dense_flag}} = 0;
{% endif %}
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
