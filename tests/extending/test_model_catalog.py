"""The model list is read from conf/model/*.yaml, never kept by hand."""

from importlib import resources

from kiln.models import model_names, models_for


def test_every_model_config_is_listed():
    files = sorted(
        f.name[:-5]
        for f in resources.files("kiln.conf").joinpath("model").iterdir()
        if f.name.endswith(".yaml") and f.name != "auto.yaml"  # auto picks one of the others
    )
    assert model_names() == files
    assert "transformer_100m" in model_names()


def test_models_for_reads_each_configs_class():
    assert "transformer_100m" in models_for("tokens")  # its defaults: transformer's class
    assert models_for("image") == ["cnn", "mlp", "resmlp", "resnet"]
    assert "ft_transformer" in models_for("tabular") and "ft_transformer" not in models_for("image")
