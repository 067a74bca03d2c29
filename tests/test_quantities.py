import pytest

from whyk8s.k8s.quantities import format_bytes, parse_cpu, parse_gpus, parse_memory


@pytest.mark.parametrize("value, milli", [("500m", 500), ("0.5", 500), (0.5, 500), ("2", 2000), (1, 1000), ("250m", 250)])
def test_cpu_forms_agree(value, milli):
    assert parse_cpu(value) == milli


@pytest.mark.parametrize("value, fragment", [("-1", "negative"), ("abc", "not a Kubernetes quantity"),
                                             ("", "empty"), (None, "missing"), ("0.0001", "finer than 1m")])
def test_cpu_rejects(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_cpu(value)


def test_memory_units_case():
    # shared/cases memory-units: 512m is refused with a hint; 1G and 1Gi accepted and differ in bytes.
    with pytest.raises(ValueError, match="Did you mean 512Mi"):
        parse_memory("512m")
    assert parse_memory("1G") == 10**9
    assert parse_memory("1Gi") == 2**30
    assert format_bytes(parse_memory("1Gi")) == "1 GiB"
    assert format_bytes(parse_memory("1G")) == "953.7 MiB"


@pytest.mark.parametrize("value, fragment", [("-5Mi", "negative"), ("lots", "not a Kubernetes quantity"), ("", "empty")])
def test_memory_rejects(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_memory(value)


@pytest.mark.parametrize("value, fragment", [(-1, "negative"), (0.5, "fraction"), ("two", "not a number"), (True, "whole")])
def test_gpus_rejects(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_gpus(value)


def test_gpus_accepts_whole_numbers():
    assert parse_gpus("2") == 2 and parse_gpus(0) == 0
