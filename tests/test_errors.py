"""errors.classify and errors.explain: one classifier by type, one sentence naming the real cause.

Each refusal is produced for real (by the course's API server, or by a local socket for transport
failures), never built by hand from a message we expect: shared/cases *api-error-text*,
*admission-not-rbac*, *quota-words*, and code review finding 5 (a missing file or a permission
error is not "start the cluster").
"""

from __future__ import annotations

import copy
import http.server
import re
import socket
import threading

import pytest
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from whyk8s import errors
from whyk8s.errors import (API, COURSE, FILE, FOREIGN, INPUT, KUBECONFIG, UNREACHABLE, ClusterUnreachableError,
                           NotCourseClusterError, WaitTimeoutError, classify, explain, is_read_timeout)
from whyk8s.k8s import objects, specs
from whyk8s.k8s.guard import connect
from whyk8s.k8s.waits import wait_for_quota

NOT_THE_CLUSTER = ("did not answer", "whyk8s cluster up", "Start it", "make lab")


def _raised(fn) -> BaseException:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        return exc
    raise AssertionError("nothing was raised")


def _api(host: str, **conf) -> client.CoreV1Api:
    configuration = client.Configuration()
    configuration.host = host
    for key, value in conf.items():
        setattr(configuration, key, value)
    return client.CoreV1Api(client.ApiClient(configuration))


# -- the classifier, on real exceptions -----------------------------------------------------------
def test_a_missing_file_is_a_file_problem_not_the_cluster(tmp_path):
    from whyk8s.notebook import recordings
    missing = _raised(lambda: open(tmp_path / "nowhere.json"))
    assert classify(missing) == FILE
    assert str(tmp_path / "nowhere.json") in explain(missing)
    no_recording = _raised(lambda: recordings.load("no-such-recording"))  # code review finding 5's experiment
    assert classify(no_recording) == FILE
    assert explain(no_recording) == "A file is missing: No recording 'no-such-recording' in data/recordings/."
    for exc in (missing, no_recording):
        sentence = explain(exc)
        assert not any(words in sentence for words in NOT_THE_CLUSTER), sentence
        assert not errors.is_connection_error(exc)


def test_a_permission_error_is_a_file_problem_not_the_cluster(tmp_path):
    # root may read any file, so the error is the one the OS raises for a non-root reader
    exc = PermissionError(13, "Permission denied", str(tmp_path / "secret"))
    assert classify(exc) == FILE
    sentence = explain(exc)
    assert sentence.startswith("Permission denied") and "secret" in sentence
    assert not any(words in sentence for words in NOT_THE_CLUSTER)


def test_a_refused_connection_is_unreachable_and_says_how_to_start():
    exc = _raised(lambda: _api("https://127.0.0.1:1", retries=False).list_namespaced_pod("whyk8s"))
    assert classify(exc) == UNREACHABLE and errors.is_connection_error(exc) and not is_read_timeout(exc)
    assert explain(exc) == ("The course cluster did not answer. Start it with `whyk8s cluster up` "
                            "(or `make lab`), then try again.")


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers: a hung API server."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


def test_a_read_timeout_is_unreachable_and_a_watch_would_reconnect(silent_server):
    api = _api(f"http://127.0.0.1:{silent_server}", retries=False)
    exc = _raised(lambda: api.list_namespaced_pod("whyk8s", _request_timeout=0.3))
    assert classify(exc) == UNREACHABLE
    assert is_read_timeout(exc)  # a ListWatch reopens the watch instead of reporting it
    assert "did not answer in time" in explain(exc)


@pytest.fixture
def html_server():
    """An HTTP server answering every request with 502 and an HTML page (a proxy in the way)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(502, "Bad Gateway")
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_body_that_is_not_json_gives_the_http_reason(html_server):
    exc = _raised(lambda: _api(f"http://127.0.0.1:{html_server}", retries=False).list_namespaced_pod("whyk8s"))
    assert classify(exc) == API
    assert explain(exc) == "The API server answered 502 Bad Gateway."


def test_a_broken_kubeconfig_is_not_start_the_cluster(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\ncurrent-context: gone\n")
    exc = _raised(lambda: config.load_kube_config(config_file=str(path)))
    assert isinstance(exc, ConfigException) and classify(exc) == KUBECONFIG
    sentence = explain(exc)
    assert sentence.startswith("The kubeconfig could not be used") and "did not answer" not in sentence


def test_course_errors_and_bad_input_are_their_own_sentence():
    waited = WaitTimeoutError("Waited 60 s; the pods never reached the expected state.")
    assert isinstance(waited, TimeoutError) and classify(waited) == COURSE and explain(waited) == str(waited)
    bad = _raised(lambda: specs.pod("My_Pod"))
    assert classify(bad) == INPUT and explain(bad) == str(bad)
    foreign = NotCourseClusterError("Refusing to act on kubeconfig context 'production'.")
    assert classify(foreign) == FOREIGN and errors.is_connection_error(foreign)
    assert classify(ClusterUnreachableError("x")) == UNREACHABLE
    assert classify(KeyError("x")) == "other" and explain(KeyError("x")) == "KeyError: 'x'"


def test_a_tls_mismatch_says_the_kubeconfig_does_not_match(cluster):
    """A kubeconfig written for an earlier cluster: the server's certificate is not signed by the CA
    the kubeconfig trusts."""
    import certifi
    conf = copy.copy(cluster.api.configuration)
    conf.ssl_ca_cert = certifi.where()  # public CAs: not the course cluster's own
    conf.retries = False
    exc = _raised(lambda: client.CoreV1Api(client.ApiClient(conf)).list_namespaced_pod(cluster.namespace))
    assert classify(exc) == UNREACHABLE
    sentence = explain(exc)
    assert "TLS certificate does not match the kubeconfig" in sentence and "whyk8s cluster up" in sentence


# -- refusals of the real API server ---------------------------------------------------------------
def _refusal(fn) -> client.ApiException:
    exc = _raised(fn)
    assert isinstance(exc, client.ApiException), exc
    return exc


def _not_rbac(sentence: str) -> None:
    assert "Not allowed" not in sentence and "RBAC" not in sentence and "permission" not in sentence.lower()


def _no_raw_dump(sentence: str) -> None:
    for raw in ("HTTP response", "Reason:", "{", "\n", "Traceback", "ApiException"):
        assert raw not in sentence, sentence


def test_a_namespace_being_deleted_is_named_with_its_fix(cluster):
    ns = "whyk8s-closing"
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=ns, labels=cluster.labels, finalizers=["whyk8s.io/test-hold"])))  # keeps it Terminating
    try:
        cluster.core.delete_namespace(ns)
        exc = _refusal(lambda: objects.create(cluster, specs.pod("late"), namespace=ns))
        assert exc.status == 403
        sentence = explain(exc, ns)
        assert sentence == (f"Namespace {ns} is being deleted (Terminating): the API server accepts nothing new "
                            f"there until it is gone. Wait a moment, or use another namespace.")
        _not_rbac(sentence)
    finally:
        cluster.core.patch_namespace(ns, {"metadata": {"finalizers": None}})


@pytest.fixture
def quota_namespace(cluster):
    """A course namespace with ResourceQuota ``caps``: requests.cpu 1, limits.cpu 2, limits.memory 1Gi."""
    ns = cluster.ensure_namespace("whyk8s-quota")
    hard = {"requests.cpu": "1", "limits.cpu": "2", "limits.memory": "1Gi"}
    objects.create(cluster, client.V1ResourceQuota(metadata=client.V1ObjectMeta(name="caps"),
                                                   spec=client.V1ResourceQuotaSpec(hard=hard)), namespace=ns)
    wait_for_quota(cluster, ns, "caps", hard)
    return ns


def test_a_quota_that_needs_limits_names_what_is_missing_and_where(cluster, quota_namespace):
    pod = specs.pod("no-limits", cpu="100m", memory="64Mi")
    pod.spec.containers[0].resources.limits = None
    exc = _refusal(lambda: objects.create(cluster, pod, namespace=quota_namespace))
    assert exc.status == 403 and "must specify" in exc.body
    sentence = explain(exc, quota_namespace)
    assert sentence.startswith("Refused by ResourceQuota caps in namespace whyk8s-quota")
    assert "CPU limits" in sentence and "memory limits" in sentence and "no-limits" in sentence
    assert "resources.limits" in sentence  # the fix
    _not_rbac(sentence)
    _no_raw_dump(sentence)


def test_an_exceeded_quota_ties_every_number_to_requests_or_limits(cluster, quota_namespace):
    exc = _refusal(lambda: objects.create(cluster, specs.pod("big", cpu="3", memory="64Mi"),
                                          namespace=quota_namespace))
    assert "requests.cpu" in exc.body and "limits.cpu" in exc.body  # side by side in the refusal
    sentence = explain(exc, quota_namespace)
    assert sentence.startswith("Refused by ResourceQuota caps in namespace whyk8s-quota: the pod big")
    _not_rbac(sentence)
    head, _, body = sentence.partition("would go over it. ")
    clauses = [c.strip() for c in body.rstrip(".").split(";")]
    assert {c.split(":")[0] for c in clauses} >= {"CPU requests", "CPU limits"}, sentence
    for clause in clauses:
        what = clause.split(":")[0]
        assert what.endswith(("requests", "limits")), clause
        numbers = re.findall(r"\d+(?:\.\d+)?\s*(?:m|MiB|GiB|KiB|B)\b", clause)
        assert len(numbers) == 3, clause  # asked, used, at most: all in this clause about `what`
    assert "CPU requests: it asks for 3000m, the namespace already uses 0m of at most 1000m" in sentence
    assert "CPU limits: it asks for 3000m, the namespace already uses 0m of at most 2000m" in sentence
    assert not re.search(r"\d", head.replace("whyk8s", "")), "a number outside its clause"


def test_a_missing_priority_class_is_named_with_its_fix(cluster):
    exc = _refusal(lambda: objects.create(cluster, specs.pod("urgent", priority_class="whyk8s-missing")))
    assert exc.status == 403
    sentence = explain(exc, cluster.namespace)
    assert sentence.startswith("There is no PriorityClass named whyk8s-missing: create it first")
    assert "priorityClassName" in sentence
    _not_rbac(sentence)


def test_only_an_rbac_refusal_reads_not_allowed(cluster):
    nobody = connect(context=cluster.context)  # its own client: the impersonation stays there
    nobody.api.set_default_header("Impersonate-User", "nobody")
    exc = _refusal(lambda: nobody.core.create_namespaced_pod(cluster.namespace, specs.pod("x")))
    assert exc.status == 403
    assert explain(exc) == ("Not allowed: the user nobody may not create pods in namespace whyk8s (RBAC). "
                            "This is a permission of your kubeconfig's user; whoever runs the cluster can "
                            "grant it.")
    exc = _refusal(lambda: nobody.core.list_node())
    assert explain(exc).startswith("Not allowed: the user nobody may not list nodes across the cluster (RBAC).")
    # a workshop participant's ServiceAccount: the refusal is on purpose, the step is the instructor's
    learner = connect(context=cluster.context)
    learner.api.set_default_header("Impersonate-User", "system:serviceaccount:whyk8s-p07:learner")
    exc = _refusal(lambda: learner.core.list_node())
    assert explain(exc) == ("Not allowed: the user system:serviceaccount:whyk8s-p07:learner may not list nodes "
                            "across the cluster (RBAC). Your kubeconfig is a workshop account, whose rights end "
                            "at its own namespace: this step is the instructor's demonstration, so watch it on "
                            "the instructor's screen.")
    assert cluster.core.list_namespaced_pod(cluster.namespace, label_selector=cluster.selector).items == []


def test_a_workshop_refusal_in_someone_elses_namespace_names_the_participants_own(cluster):
    """Learner trial 4b: p01 created a pod in whyk8s-p02 and was told "this step is the instructor's
    demonstration". A namespaced refusal outside the participant's own namespace says whose it is
    not and names theirs; in their own namespace and across the cluster it stays the demonstration."""
    learner = connect(context=cluster.context)
    learner.api.set_default_header("Impersonate-User", "system:serviceaccount:whyk8s-p01:learner")
    for fn in (lambda: learner.core.create_namespaced_pod("whyk8s-p02", specs.pod("x")),
               lambda: learner.core.list_namespaced_pod("whyk8s-p02"),
               lambda: learner.core.read_namespace("whyk8s-p02")):
        sentence = explain(_refusal(fn))
        assert sentence.startswith("Not allowed: namespace whyk8s-p02 is not yours"), sentence
        assert "your own namespace, whyk8s-p01" in sentence and "demonstration" not in sentence
    sentence = explain(_refusal(lambda: learner.core.list_node()))
    assert "instructor's demonstration" in sentence and "not yours" not in sentence
    sentence = explain(_refusal(lambda: learner.core.list_namespaced_resource_quota("whyk8s-p01")))
    assert "instructor's demonstration" in sentence and "not yours" not in sentence


def test_a_call_the_client_refuses_names_the_call_and_the_argument_not_an_object(cluster):
    """Learner trial 4a: core.read_namespaced_pod("first-pod") printed pydantic's ArgsKwargs with an
    object address and "Nothing was created" for a read."""
    sentence = explain(_raised(lambda: cluster.core.read_namespaced_pod("first-pod")))
    assert sentence == ("The Kubernetes client refused the call read_namespaced_pod before sending it: the "
                        "argument namespace is missing. It takes read_namespaced_pod(name, namespace, …). "
                        "Nothing was sent to the API server."), sentence
    sentence = explain(_raised(lambda: cluster.core.create_namespaced_pod(body={"metadata": {"name": "x"}})))
    assert "create_namespaced_pod" in sentence and "the argument namespace is missing" in sentence
    sentence = explain(_raised(lambda: cluster.core.list_namespaced_pod("whyk8s", labels="a=b")))
    assert "it has no argument named labels" in sentence
    for sentence in (explain(_raised(lambda: cluster.core.read_namespaced_pod("first-pod"))),):
        assert "0x" not in sentence and "ArgsKwargs" not in sentence and "Nothing was created" not in sentence


def test_an_invalid_name_is_one_sentence_naming_the_field(cluster):
    bad = specs.pod("fine")
    bad.metadata.name = "Not_Valid"  # past the course's own check: the API server's 422
    exc = _refusal(lambda: cluster.core.create_namespaced_pod(cluster.namespace, bad))
    assert exc.status == 422
    sentence = explain(exc)
    assert sentence.startswith('Pod "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid"')
    assert "RFC 1123" in sentence and sentence.endswith(".")
    _no_raw_dump(sentence)


def test_not_found_names_the_kind_and_the_namespace_only_where_there_is_one(cluster):
    exc = _refusal(lambda: cluster.core.create_namespaced_pod("no-such-namespace", specs.pod("x")))
    assert explain(exc, "no-such-namespace") == ("There is no Namespace named 'no-such-namespace' (deleted, "
                                                 "cleaned up, or not created yet).")
    exc = _refusal(lambda: objects.scale(cluster, "web", 2))
    assert explain(exc, cluster.namespace) == ("There is no Deployment named 'web' in namespace whyk8s (deleted, "
                                               "cleaned up, or not created yet).")
    objects.create(cluster, specs.pod("twin"))
    exc = _refusal(lambda: objects.create(cluster, specs.pod("twin")))
    assert explain(exc, cluster.namespace) == ("A Pod named 'twin' already exists in namespace whyk8s: choose "
                                               "another name, or delete the existing one first.")


def test_connect_reports_a_tls_mismatch_as_unreachable_not_as_reachable(make_kubeconfig, tmp_path, monkeypatch):
    """The official client reports a TLS failure as ApiException(status=0): connect() must not take
    that for an answer of the API server."""
    import certifi
    import yaml
    cfg = make_kubeconfig("kwok-whyk8s")
    cl = cfg["clusters"][0]["cluster"]
    cl.pop("certificate-authority-data", None)
    cl["certificate-authority"] = certifi.where()
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(path))
    exc = _raised(lambda: connect())
    assert isinstance(exc, ClusterUnreachableError)
    assert "TLS certificate does not match the kubeconfig" in str(exc)


def test_the_guards_own_sentence_survives_explain(make_kubeconfig, tmp_path, monkeypatch):
    """shared/cases kubeconfig-order: with an empty current-context the hint is `kubectl config
    use-context`, not "start the cluster" — also where the sentence goes through explain() (the
    notebook panel, the widgets)."""
    import yaml
    cfg = make_kubeconfig("kwok-whyk8s")
    cfg["current-context"] = ""
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(path))
    exc = _raised(lambda: connect())
    assert isinstance(exc, ClusterUnreachableError) and classify(exc) == UNREACHABLE
    assert explain(exc) == str(exc)
    assert "kubectl config use-context kwok-whyk8s" in explain(exc) and "did not answer" not in explain(exc)


def _client_refusal(call):
    from kubernetes import client
    try:
        call(client.ApiClient(client.Configuration(host="http://127.0.0.1:9")))
    except ValueError as exc:  # pydantic's ValidationError, raised before anything is sent
        return exc
    raise AssertionError("the client accepted the body")


def test_a_number_where_the_client_wants_a_string_is_one_sentence_with_the_fix():
    from kubernetes import client
    from whyk8s.errors import explain, is_client_validation
    body = {"metadata": {"name": "x"}, "spec": {"containers": [
        {"name": "a", "image": "b", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}
    exc = _client_refusal(lambda api: client.CoreV1Api(api).create_namespaced_pod("whyk8s", body))
    assert is_client_validation(exc)
    text = explain(exc)
    assert text.startswith("The Kubernetes client refused the object before sending it: ")
    assert 'spec.containers[0].resources.limits["nvidia.com/gpu"] must be a string' in text
    assert "'1' in quotes" in text and "Nothing was created." in text
    assert "for the Python client" in text and "YAML manifest for kubectl may write 1 unquoted" in text
    assert "pydantic" not in text and "\n" not in text


def test_a_field_in_the_wrong_place_is_named():
    from kubernetes import client
    from whyk8s.errors import explain
    exc = _client_refusal(lambda api: client.SchedulingV1Api(api).create_priority_class(
        {"metadata": {"name": "x"}, "spec": {"value": 1}}))
    assert "there is no field spec (check its spelling and where it is nested)" in explain(exc)


def test_a_course_value_error_is_not_taken_for_a_client_refusal():
    from whyk8s.errors import explain, is_client_validation
    assert not is_client_validation(ValueError("Did you mean 512Mi?"))
    assert explain(ValueError("Did you mean 512Mi?")) == "Did you mean 512Mi?"


def test_a_kind_the_api_server_does_not_serve_is_a_missing_crd(cluster):
    """Kueue stopped from a terminal takes its CRDs along: a chapter's next create got a bare
    "404 Not Found" that read like an outage (found by a fresh user)."""
    exc = _raised(lambda: client.CustomObjectsApi(cluster.api).list_cluster_custom_object(
        "nothing.whyk8s.example", "v1", "widgets"))
    assert classify(exc) == API and exc.status == 404
    sentence = explain(exc)
    assert "CustomResourceDefinition is not installed" in sentence and "whyk8s kueue up" in sentence
    named = _raised(lambda: cluster.core.read_namespaced_pod("no-such-pod", cluster.namespace))
    assert explain(named).startswith("There is no Pod named 'no-such-pod'")


def test_the_api_server_reads_a_number_as_a_quantity_as_the_client_refusal_sentence_says(cluster):
    """The sentence above tells learners a YAML manifest may write ``nvidia.com/gpu: 1`` unquoted: the
    API server (not the Python client) accepts the JSON number 1 there and stores the quantity "1"."""
    from kubernetes import dynamic
    pods = dynamic.DynamicClient(cluster.core.api_client).resources.get(api_version="v1", kind="Pod")
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "number-quantity"},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36",
                                     "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}
    made = pods.create(body=body, namespace=cluster.namespace, query_params=[("dryRun", "All")])
    assert made.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"
