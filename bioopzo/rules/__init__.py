"""Learning rules: one module per rule, each holding every form of its top-down signal.

    base.py          LearningRule (the forms a rule implements), FeedbackContext, StepSignals
    counting.py      feedback traffic and third factors shared by the rules' operation counts
    engine_terms.py  Loihi learning-engine terms shared by the rules
    names.py         RULE_NAMES: the rule modules of this package, by file name
    registry.py      RULES, COUNTED_RULES, rule_class, make_rule
    bp.py, dfa.py, opzo.py, readout.py, zo.py ...   one rule each

This package module imports nothing, so that config.py can read the rule names.
"""
