import pytest

from whyk8s.k8s import specs


@pytest.mark.parametrize("name, fragment", [
    ("Trainer", "lower-case"),
    ("my_pod", "remove '_'"),
    ("-pod", "start and end"),
    ("", "empty"),
    (" pod", "spaces"),
    ("a" * 254, "at most 253"),
])
def test_invalid_pod_names_are_explained(name, fragment):
    with pytest.raises(ValueError, match=fragment):
        specs.validate_name(name)


def test_namespace_names_are_labels():
    with pytest.raises(ValueError, match="cannot contain '.'"):
        specs.validate_name("team.a", kind="namespace")
    assert specs.validate_name("team-a", kind="namespace") == "team-a"


def test_suggestion_is_valid():
    with pytest.raises(ValueError) as err:
        specs.validate_name("My_Training Job")
    suggestion = str(err.value).split("For example: ")[1].strip(".'\"")
    assert specs.validate_name(suggestion) == suggestion


def test_gpu_pod_gets_toleration_and_limit():
    pod = specs.pod("train", gpus=2, cpu="0.5", memory="1Gi")
    c = pod.spec.containers[0]
    assert c.resources.requests == {"cpu": "500m", "memory": str(2**30), "nvidia.com/gpu": "2"}
    assert c.resources.limits["nvidia.com/gpu"] == "2"
    assert pod.spec.tolerations[0].key == "nvidia.com/gpu"
    assert pod.metadata.labels["app.kubernetes.io/part-of"] == "whyk8s"


def test_cpu_pod_has_no_toleration():
    assert specs.pod("web").spec.tolerations is None


def test_pool_becomes_node_selector():
    assert specs.pod("prep", pool="highmem").spec.node_selector == {"whyk8s.io/pool": "highmem"}


@pytest.mark.parametrize("replicas, fragment", [(-1, "negative"), ("three", "whole number"), (1.5, "whole number")])
def test_deployment_replicas_checked(replicas, fragment):
    with pytest.raises(ValueError, match=fragment):
        specs.deployment("web", replicas=replicas)


def test_deployment_selector_matches_template():
    d = specs.deployment("web", replicas=3)
    assert d.spec.replicas == 3
    assert d.spec.selector.match_labels.items() <= d.spec.template.metadata.labels.items()


def test_job_never_restarts():
    j = specs.job("train", gpus=1)
    assert j.spec.template.spec.restart_policy == "Never"
    assert j.spec.backoff_limit == 0


def test_job_container_ends_by_itself_on_a_real_node():
    """pause never exits, so a Job running it never succeeds on kind: Jobs get a shell and sleep 5."""
    c = specs.job("train").spec.template.spec.containers[0]
    assert "pause" not in c.image and c.image == specs.JOB_IMAGE == "busybox:1.36"
    assert c.command == ["sh", "-c", "sleep 5"]
    own = specs.job("train", image="python:3.12-slim", command=["python", "-c", "pass"]).spec.template.spec
    assert own.containers[0].image == "python:3.12-slim" and own.containers[0].command == ["python", "-c", "pass"]
    assert specs.job("train", command=None).spec.template.spec.containers[0].command is None


def test_job_never_ends_hint_names_the_fix():
    from whyk8s.labs.common import job_never_ends_hint
    assert "never exits" in job_never_ends_hint(specs.job("t", image=specs.DEFAULT_IMAGE, command=None))
    assert "add command" in job_never_ends_hint(specs.job("t", command=None))
    assert job_never_ends_hint(specs.job("t")) == ""


def test_container_name_is_a_label_even_for_dotted_pod_names():
    assert specs.pod("a.b").spec.containers[0].name == "a-b"


def test_explain_keeps_the_course_s_own_timeout_message_but_not_a_socket_s():
    from whyk8s.errors import WaitTimeoutError, explain
    waited = WaitTimeoutError("Waited 60 s; the pods never reached the expected state (1 pods: web (Pending)).")
    assert isinstance(waited, TimeoutError)  # callers catching TimeoutError still catch it
    assert explain(waited) == str(waited)
    assert "did not answer" in explain(TimeoutError("Waited 60 s for a socket somewhere"))
    assert "did not answer" in explain(TimeoutError("timed out"))
    assert "did not answer" in explain(TimeoutError(110, "Connection timed out after a long while"))


@pytest.mark.parametrize("memory", ["512", 512, "1000k"])
def test_memory_without_a_plausible_unit_is_refused_with_a_hint(memory):
    with pytest.raises(ValueError, match="far too little") as info:
        specs.resources(memory=memory)
    if str(memory).isdigit():
        assert "Did you mean 512Mi" in str(info.value)


def test_a_mebibyte_of_memory_is_accepted():
    assert specs.resources(memory="1Mi").requests["memory"] == str(2**20)


def test_manifest_is_the_yaml_the_helper_sends():
    import yaml
    from kubernetes import client
    pod = specs.pod("trainer-1", cpu="500m", memory="1Gi")
    text = specs.manifest(pod)
    assert text.startswith("apiVersion: v1\nkind: Pod\nmetadata:\n")
    body = yaml.safe_load(text)
    sent = client.ApiClient().sanitize_for_serialization(pod)
    assert sent["spec"]["containers"][0]["resources"]["requests"]["memory"] == "1073741824"  # the helper sends bytes
    assert body == {"apiVersion": "v1", "kind": "Pod", **specs.readable_memory(sent)}
    container = body["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}  # the YAML writes it as a person does
    assert "terminationGracePeriodSeconds" in body["spec"] and "None" not in text and "null" not in text
    dep = yaml.safe_load(specs.manifest(specs.deployment("web", replicas=3)))
    assert (dep["apiVersion"], dep["kind"], dep["spec"]["replicas"]) == ("apps/v1", "Deployment", 3)
    import pytest
    with pytest.raises(TypeError):
        specs.manifest(object())


def test_a_jobs_manifest_is_what_kubectl_reads():
    import yaml
    data = yaml.safe_load(specs.manifest(specs.job("train", cpu="2", memory="1Gi", gpus=1)))
    assert (data["apiVersion"], data["kind"]) == ("batch/v1", "Job")
    pod_spec = data["spec"]["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Never"          # camelCase, as in a manifest
    assert pod_spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "status" not in data and "node_selector" not in pod_spec


def test_manifest_prints_memory_given_in_bytes_the_way_a_person_writes_it():
    import yaml
    from whyk8s.k8s.quantities import parse_memory
    from whyk8s.lessons import dra, queueing
    job = specs.job("train", memory=85899345920)  # 80 GiB, given as a byte count
    text = specs.manifest(job)
    assert "memory: 80Gi" in text and "85899345920" not in text
    resources = yaml.safe_load(text)["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == "80Gi"
    assert parse_memory(resources["requests"]["memory"]) == 85899345920  # the same quantity
    # a Kueue resource entry named memory, a quota's requests.memory, a DRA capacity, a NodePool limit
    cq = specs.manifest(queueing.cluster_queue_spec("team-a", {"gpu": {"memory": str(32 * 2**30)}},
                                                    borrowing_limits={"gpu": {"memory": 10**9}}))
    assert "nominalQuota: 32Gi" in cq and "borrowingLimit: 1G" in cq and "34359738368" not in cq
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
             "spec": {"hard": {"requests.memory": "68719476736", "requests.cpu": "16"}}}
    assert yaml.safe_load(specs.manifest(quota))["spec"]["hard"] == {"requests.memory": "64Gi", "requests.cpu": "16"}
    slice_ = dra.resource_slice_spec(devices=(dra.Device("gpu-0", "A100", str(40 * 2**30)),))
    assert yaml.safe_load(specs.manifest(slice_))["spec"]["devices"][0]["capacity"]["memory"] == {"value": "40Gi"}
    pool = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "p"},
            "spec": {"limits": {"cpu": "64", "memory": 2**40, "nvidia.com/gpu": "8"}}}
    limits = yaml.safe_load(specs.manifest(pool))["spec"]["limits"]
    assert limits == {"cpu": "64", "memory": "1Ti", "nvidia.com/gpu": "8"}
    # what already has a unit stays as written; what no unit divides stays a byte count
    assert "memory: 512M\n" in specs.manifest({"kind": "X", "spec": {"memory": "512M"}})
    assert "memory: '1234567'" in specs.manifest({"kind": "X", "spec": {"memory": "1234567"}})


def test_manifest_shows_the_course_label_that_create_adds_even_when_the_builder_left_it_out():
    import yaml
    from kubernetes import client
    svc = client.V1Service(metadata=client.V1ObjectMeta(name="web"),
                           spec=client.V1ServiceSpec(selector={"app": "web"}))
    labels = yaml.safe_load(specs.manifest(svc))["metadata"]["labels"]
    assert labels == {"app.kubernetes.io/part-of": "whyk8s"}
    dict_labels = yaml.safe_load(specs.manifest({"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": "x", "labels": {"team": "a"}}}))
    assert dict_labels["metadata"]["labels"] == {"team": "a", "app.kubernetes.io/part-of": "whyk8s"}


def test_manifest_keeps_a_long_cel_selector_on_one_line():
    cel = "device.capacity['gpu.whyk8s.example'].memory.compareTo(quantity('40Gi')) >= 0 && " * 2
    text = specs.manifest({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
                           "metadata": {"name": "x"}, "spec": {"expression": cel}})
    import yaml
    line = next(line for line in text.splitlines() if "expression:" in line)
    assert yaml.safe_load(line.strip()) == {"expression": cel}  # the whole selector on that one line
