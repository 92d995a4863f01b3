"""Configs: units, validation errors that name the problem, per-rule tables, round trips."""

import pytest
from brian2 import Hz, ms

from bioopzo.config import ConfigError, ExperimentConfig, load_config, parse_quantity
from bioopzo.config import resolve_config_path


def test_quantities_parse_with_units():
    assert parse_quantity("1 ms", ms, "x") == 1 * ms
    assert parse_quantity("0.5*ms", ms, "x") == 0.5 * ms
    assert parse_quantity("2 kHz", Hz, "x") == 2000 * Hz
    cfg = ExperimentConfig.from_dict({"neuron": {"dt": "0.5 ms", "tau_mem": "2 ms"}})
    assert cfg.neuron.leak == pytest.approx(0.75)


@pytest.mark.parametrize("value, message", [
    ("2 mV", "a time is needed"),
    (2, "has no unit"),
    ("fast", "not a quantity"),
    ("2 parsecs", "unknown unit"),
    ("-1 ms", "must be positive"),
])
def test_wrong_units_are_refused(value, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig.from_dict({"neuron": {"tau_mem": value}})


@pytest.mark.parametrize("raw, message", [
    ({"rule": {"name": "hebb"}}, "unknown rule 'hebb'"),
    ({"device": {"name": "loihi"}}, "unknown device 'loihi'"),
    ({"noise": {"scale": -0.1}}, r"\[noise\] scale = -0.1 must be >= 0"),
    ({"rule": {"name": "opzo"}, "noise": {"scale": 0.0}}, "must be > 0"),
    ({"optimizer": {"learning_rat": 0.1}}, "unknown key"),
    ({"optimizr": {}}, "unknown section"),
    ({"network": {"hidden": [0]}}, "must be >= 1"),
    ({"data": {"max_rate": "2 ms"}}, "frequency"),
    ({"noise": {"site": "dendrite"}}, "site"),
    ({"data": {"validation_fraction": 1.0}}, "validation_fraction must be below 1"),
    ({"data": {"normalization": "standardize"}}, 'set encoding = "direct"'),
    ({"data": {"normalization": "zscore"}}, "normalization"),
    ({"rule": {"feedback_bias_correction": 1}}, "true or false"),
])
def test_bad_configs_name_the_problem(raw, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig.from_dict(raw)


def test_rate_encoding_probability_must_not_exceed_one():
    from bioopzo.data import make_encoder

    cfg = ExperimentConfig.from_dict({"data": {"max_rate": "2 kHz"}})
    with pytest.raises(ConfigError, match="max_rate"):
        make_encoder(cfg.data, cfg.neuron.dt)


def test_packaged_model_configs_load_and_select_rules():
    cfg = load_config(resolve_config_path("models/digits_fc.toml"))
    assert cfg.rule.name == "opzo" and cfg.noise.scale > 0
    bp = cfg.with_overrides({"rule": {"name": "bp"}})
    assert bp.rule.name == "bp" and bp.noise.scale == 0.0   # [per_rule.bp]
    back = bp.with_overrides({"rule": {"name": "opzo"}})
    assert back.noise.scale == cfg.noise.scale
    for name in ("digits_fc", "digits_fc2", "mnist1d_fc", "mnist1d_fc2"):
        assert load_config(resolve_config_path(name)).name == name


def test_resolved_config_round_trips_through_toml(tmp_path):
    cfg = load_config(resolve_config_path("digits_fc"), {"training": {"seed": 7}})
    path = tmp_path / "config.toml"
    path.write_text(cfg.to_toml())
    again = load_config(path)
    assert again == cfg
    assert 'dt = "1 ms"' in path.read_text()


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[network\nhidden = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="named models"):
        resolve_config_path("no_such_model")


@pytest.mark.parametrize("content", [b"", b"# only a comment\n", b'name = "x"\n',
                                     b"\x89PNG\r\n\x1a\n\x00\xff\xfe"])
def test_empty_section_less_and_binary_configs_are_refused(tmp_path, content):
    """A file that would train with built-in defaults, or is not text, is refused by name."""
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="no tables|not a text file") as err:
        load_config(path)
    assert "bioopzo models" in str(err.value)


def test_load_config_takes_a_packaged_model_name():
    from bioopzo.config import packaged_models

    assert "digits_fc" in packaged_models()
    assert load_config("digits_fc") == load_config(resolve_config_path("digits_fc"))
    with pytest.raises(ConfigError, match="named models: .*digits_fc"):
        load_config("no_such_model")


def test_default_config_is_the_packaged_digits_model():
    cfg = load_config()
    assert cfg.name == "digits_fc"
    assert cfg.device.name == "cpp_standalone" and cfg.data.dataset == "digits"


def test_explicit_overrides_win_over_per_rule_tables():
    """digits_fc's [per_rule.bp] sets noise 0; an explicit noise override is kept."""
    from bioopzo.config import load_config

    assert load_config(None, {"rule": {"name": "bp"}}).noise.scale == 0.0
    assert load_config(None, {"rule": {"name": "bp"}, "noise": {"scale": 0.2}}).noise.scale == 0.2
    chained = load_config(None).with_overrides({"noise": {"scale": 0.3}}).with_overrides(
        {"rule": {"name": "bp"}})
    assert chained.rule.name == "bp" and chained.noise.scale == 0.3
    assert chained.with_overrides({"rule": {"name": "opzo"}}).noise.scale == 0.3
    assert load_config(None).with_overrides({"rule": {"name": "dfa"}}).noise.scale == 0.0


def test_feedback_momentum_too_small_for_the_schedule_warns_with_the_fix():
    from bioopzo.config import feedback_momentum_warning, feedback_samples

    cfg = ExperimentConfig.from_dict({"rule": {"name": "opzo", "feedback_momentum": 0.999}})
    assert feedback_samples(cfg) == pytest.approx(1999)
    assert feedback_samples(cfg, batch=32) == pytest.approx(32 * 1999)
    msg = feedback_momentum_warning(cfg)
    assert "feedback_momentum = 0.999" in msg and "feedback_momentum >= 0.9995" in msg
    assert feedback_momentum_warning(cfg, batch=32) is None      # 32 samples per update suffice
    deep = cfg.with_overrides({"network": {"hidden": [64, 64]}, "rule": {"feedback_momentum": 0.9995}})
    assert "lower layers" in feedback_momentum_warning(deep)
    for name in ("digits_fc", "digits_fc2", "mnist1d_fc", "mnist1d_fc2"):   # the packaged models fit
        assert feedback_momentum_warning(load_config(resolve_config_path(name))) is None
    assert feedback_momentum_warning(cfg.with_overrides({"rule": {"name": "dfa"}})) is None
