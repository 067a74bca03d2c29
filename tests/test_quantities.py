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


def test_cpu_texts_are_millicores_and_the_api_servers_canonical_form():
    from whyk8s.k8s.quantities import canonical_cpu, format_cpu
    assert format_cpu(250) == "250m" and format_cpu(2000) == "2000m"
    assert canonical_cpu(2000) == "2" and canonical_cpu(250) == "250m" and canonical_cpu(parse_cpu("0.25")) == "250m"


def test_memory_text_shows_the_exact_quantity_and_the_bytes():
    from whyk8s.k8s.quantities import format_memory
    assert format_memory(64 * 2**20) == "64Mi (67,108,864 bytes)"
    assert format_memory(10**9) == "1G (1,000,000,000 bytes)"
    assert format_memory(1000 * 2**20) == "1000Mi (1,048,576,000 bytes)"
    assert format_memory(123) == "123 bytes"


@pytest.mark.parametrize("resource, quantity, expected", [
    ("requests.cpu", "500m", (500, "millicores")), ("cpu", "2", (2000, "millicores")),
    ("requests.memory", "1Gi", (1024, "MiB")), ("limits.memory", "1G", (953.7, "MiB")),
    ("requests.nvidia.com/gpu", "4", (4, "GPUs")), ("pods", "10", (10.0, "")), ("requests.cpu", None, (0, "millicores")),
])
def test_in_unit_gives_each_resource_its_unit(resource, quantity, expected):
    from whyk8s.k8s.quantities import in_unit
    assert in_unit(resource, quantity) == expected


@pytest.mark.parametrize("n_bytes,text", [(85899345920, "80Gi"), (2**30, "1Gi"), (10**9, "1G"), (1536 * 2**20, "1536Mi"),
                                          (1000, "1k"), (1024, "1Ki"), (1234, "1234"), (0, "0"), (2**40, "1Ti")])
def test_canonical_memory_is_the_shortest_exact_quantity(n_bytes, text):
    from whyk8s.k8s.quantities import canonical_memory
    assert canonical_memory(n_bytes) == text
    assert parse_memory(text) == n_bytes
