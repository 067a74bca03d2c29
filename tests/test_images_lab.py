"""Lab 1 checks: the right answer passes, planted wrong answers get a message naming the mistake."""

from __future__ import annotations

import gzip
import hashlib
import inspect

import pytest

from whyk8s.errors import CourseError
from whyk8s.lessons import oci
from whyk8s.labs import images_lab
from whyk8s.labs.checks import check
from whyk8s.labs.feedback import CheckResult


@pytest.fixture
def lab(tmp_path):
    workdir = tmp_path / "lab1"
    layout = images_lab.setup(workdir)
    return workdir, workdir / images_lab.IMAGE_DIR, layout


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def assert_rejected(result, fragment):
    assert isinstance(result, CheckResult)
    assert not result.passed
    assert any(fragment in message for message in result.problems), result.problems


def build_changed(workdir, layers=None, config=None):
    layers = images_lab.lab_layers() if layers is None else layers
    config = images_lab.lab_config() if config is None else config
    oci.build_image_layout(workdir / images_lab.CHANGED_DIR, layers, config=config)
    return workdir / images_lab.CHANGED_DIR


# ----------------------------------------------------------------------------- setup / reset


def test_setup_builds_a_valid_layout_and_is_repeatable(lab):
    workdir, image, layout = lab
    assert oci.verify_layout(image) == []
    assert len(layout.layers) == 2
    assert images_lab.setup(workdir) == layout


def test_reset_removes_what_setup_and_the_learner_made(lab):
    workdir, image, _ = lab
    build_changed(workdir)
    result = images_lab.reset(workdir)
    assert result.passed, result.problems
    assert not workdir.exists()


def test_setup_refuses_to_replace_what_is_not_a_lab_image(tmp_path):
    """setup(Path.home()) must not delete ~/image (code review §6.3): a folder that is not an OCI
    image layout, a file or a link named image is refused with a sentence, and kept."""
    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "thesis.tex").write_text("mine")
    with pytest.raises(CourseError, match="Refusing to build the lab image in .*: something is already there and "
                                          "it is not an OCI image layout"):
        images_lab.setup(tmp_path)
    assert (tmp_path / "image" / "thesis.tex").read_text() == "mine"

    elsewhere = tmp_path / "elsewhere"
    images_lab.setup(elsewhere)  # a real lab image, reached through a link
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "image").symlink_to(elsewhere / "image")
    with pytest.raises(CourseError, match="not an OCI image layout"):
        images_lab.setup(linked)
    assert oci.verify_layout(elsewhere / "image") == []

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "image").write_text("a file")
    with pytest.raises(CourseError, match="Refusing"):
        images_lab.setup(plain)
    assert (plain / "image").read_text() == "a file"


def test_reset_says_done_and_leaves_a_linked_image_alone(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    images_lab.setup(elsewhere)
    workdir = tmp_path / "lab1"
    workdir.mkdir()
    (workdir / "image").symlink_to(elsewhere / "image")
    result = images_lab.reset(workdir)
    assert str(result).startswith("Lab 1 reset: done, but 1 left alone") and repr(result) == str(result)
    assert oci.verify_layout(elsewhere / "image") == []
    assert str(images_lab.reset(elsewhere)).startswith("Lab 1 reset: done\n")


def test_lab_config_is_the_chapter_default_and_a_copy():
    config = images_lab.lab_config()
    assert config == oci.DEFAULT_CONFIG
    config["config"]["Cmd"].append("--changed")
    assert images_lab.lab_config() == oci.DEFAULT_CONFIG


# ----------------------------------------------------------------------------- errors inside a check


def test_a_file_error_inside_a_lab1_check_is_not_about_the_cluster(lab, monkeypatch):
    """Code review finding 5: a PermissionError or FileNotFoundError inside a check of Lab 1 (which
    needs no cluster) must not say "start the cluster"; it names the file, not its directory."""
    _, image, layout = lab
    layer = layout.layers[0].digest
    blob_path = image / "blobs" / "sha256" / layer.removeprefix("sha256:")
    for error, says in ((PermissionError(13, "Permission denied", str(blob_path)),
                         f"Permission denied: {blob_path.name} cannot be read or written by you."),
                        (FileNotFoundError(2, "No such file or directory", str(blob_path)),
                         f"A file is missing: {blob_path.name}.")):
        def fail(*_args, error=error):
            raise error
        monkeypatch.setattr(oci, "layer_files", fail)
        result = images_lab.check_by_hand(image, layer, layer)
        assert not result.passed and len(result.problems) == 1, result.problems
        message = result.problems[0]
        assert "cluster" not in message and "whyk8s cluster up" not in message, message
        assert blob_path.name in message and str(blob_path.parent) not in message, message
        assert message == f"{says} Run this lab's cells again in order, from the set-up cell.", message


def test_unexpected_errors_inside_a_check_say_so_honestly():
    @check("Step 9: anything")
    def broken(result, value):
        result.ok("a first finding survives")
        raise TypeError(f"unsupported operand type(s) for +: 'int' and {value!r}")

    result = broken("x")
    assert [f.ok for f in result.findings] == [True, False]
    assert result.problems == ["the check itself failed (TypeError: unsupported operand type(s) for +: 'int' and "
                               "'x'); run this step's cells again in order, and report it if it happens again"]
    assert list(inspect.signature(broken).parameters) == ["value"]
    assert list(inspect.signature(images_lab.check_config).parameters) == ["image_dir", "config_digest"]


def test_reset_leaves_foreign_files_alone(tmp_path):
    workdir = tmp_path / "lab1"
    images_lab.setup(workdir)
    (workdir / "notes.txt").write_text("mine")
    images_lab.reset(workdir)
    assert not (workdir / images_lab.IMAGE_DIR).exists()
    assert (workdir / "notes.txt").read_text() == "mine"


# ----------------------------------------------------------------------------- step 1


def test_check_config_right_answer(lab):
    _, image, layout = lab
    assert images_lab.check_config(image, layout.config.digest).passed
    assert images_lab.check_config(image, "  " + layout.config.digest + "\n").passed


@pytest.mark.parametrize(
    "make_answer, fragment",
    [
        (lambda l: ..., "not answered yet"),
        (lambda l: None, "not answered yet"),
        (lambda l: l.manifest.digest, "that is the manifest's digest"),
        (lambda l: l.layers[0].digest, "digest of layer 1"),
        (lambda l: l.diff_ids[1], "diff_id 2"),
        (lambda l: l.index.digest, "index.json itself"),
        (lambda l: l.config.digest.removeprefix("sha256:"), "no algorithm prefix (the hex digits are right for the config)"),
        (lambda l: l.config.digest.upper().replace("SHA256", "sha256"), "upper-case"),
        (lambda l: "sha256:" + hashlib.md5(b"x").hexdigest(), "MD5"),
        (lambda l: sha(b"unrelated"), "no blob or diff_id of this image"),
        (lambda l: 42, "should be a string"),
        (lambda l: l.config, "whole Descriptor"),
    ],
)
def test_check_config_wrong_answers(lab, make_answer, fragment):
    _, image, layout = lab
    assert_rejected(images_lab.check_config(image, make_answer(layout)), fragment)


def test_check_config_without_setup(tmp_path):
    assert_rejected(images_lab.check_config(tmp_path / "nowhere", "sha256:" + "0" * 64), "run the set-up cell")
    assert_rejected(images_lab.check_config(None, "x"), "run the set-up cell")


# ----------------------------------------------------------------------------- step 2


def test_check_layers_right_answer(lab):
    _, image, layout = lab
    assert images_lab.check_layers(image, [d.digest for d in layout.layers]).passed
    assert images_lab.check_layers(image, tuple(d.digest for d in layout.layers)).passed


@pytest.mark.parametrize(
    "make_answer, fragment",
    [
        (lambda l: ..., "not answered yet"),
        (lambda l: list(l.diff_ids), "these are the config's rootfs.diff_ids"),
        (lambda l: [l.layers[1].digest, l.layers[0].digest], "right digests, wrong order"),
        (lambda l: [l.layers[0].digest], "the image has 2 layers; you listed 1"),
        (lambda l: [l.layers[0].digest, l.config.digest], "item 2 of layer_digests: that is the config's digest"),
        (lambda l: l.layers[0].digest, "single string"),
        (lambda l: {d.digest for d in l.layers}, "should be a list"),
        (lambda l: [d.digest[7:] for d in l.layers], "no algorithm prefix"),
        (lambda l: [l.layers[0].digest, ...], "item 2 of layer_digests: not answered yet"),
        (lambda l: [l.layers[0].digest, l.layers[0].digest], "list each layer once"),
        (lambda l: list(l.layers), "whole Descriptor"),
    ],
)
def test_check_layers_wrong_answers(lab, make_answer, fragment):
    _, image, layout = lab
    assert_rejected(images_lab.check_layers(image, make_answer(layout)), fragment)


# ----------------------------------------------------------------------------- step 3


def right_by_hand(image, layout):
    data = (image / "blobs" / "sha256" / layout.layers[0].digest[7:]).read_bytes()
    return sha(data), sha(gzip.decompress(data)), data


def test_check_by_hand_right_answer(lab):
    _, image, layout = lab
    layer_digest, diff_id, _ = right_by_hand(image, layout)
    result = images_lab.check_by_hand(image, layer_digest, diff_id)
    assert result.passed, result.problems


@pytest.mark.parametrize(
    "make_layer_answer, fragment",
    [
        (lambda l, d: ..., "my_layer_digest: not answered yet"),
        (lambda l, d: l.diff_ids[0], "digest of the uncompressed tar (diff_id 1)"),
        (lambda l, d: sha(l.layers[0].digest[7:].encode()), "hash of the blob's name"),
        (lambda l, d: sha(images_lab.lab_layers()[0]["etc/os-release"]), "one file inside the layer (etc/os-release)"),
        (lambda l, d: l.layers[1].digest, "digest of layer 2"),
        (lambda l, d: "sha1:" + hashlib.sha1(d).hexdigest(), "algorithm 'sha1'"),
        (lambda l, d: "sha256:" + hashlib.sha1(d).hexdigest(), "SHA-1"),
        (lambda l, d: d, "is bytes"),
    ],
)
def test_check_by_hand_wrong_layer_digest(lab, make_layer_answer, fragment):
    _, image, layout = lab
    _, diff_id, data = right_by_hand(image, layout)
    result = images_lab.check_by_hand(image, make_layer_answer(layout, data), diff_id)
    assert_rejected(result, fragment)
    assert len(result.problems) == 1  # the right diff_id is not blamed


@pytest.mark.parametrize(
    "make_diff_answer, fragment",
    [
        (lambda l, d: None, "my_diff_id: not answered yet"),
        (lambda l, d: l.layers[0].digest,
         "you gave the digest of the compressed layer; diff_ids are digests of the uncompressed tar"),
        (lambda l, d: sha(gzip.compress(d)), "compressed a second time"),
        (lambda l, d: sha(images_lab.lab_layers()[0]["etc/os-release"]), "one file inside the layer"),
        (lambda l, d: l.diff_ids[1], "diff_id 2"),
        (lambda l, d: hashlib.sha256(gzip.decompress(d)).hexdigest(), "no algorithm prefix"),
    ],
)
def test_check_by_hand_wrong_diff_id(lab, make_diff_answer, fragment):
    _, image, layout = lab
    layer_digest, _, data = right_by_hand(image, layout)
    result = images_lab.check_by_hand(image, layer_digest, make_diff_answer(layout, data))
    assert_rejected(result, fragment)
    assert len(result.problems) == 1


# ----------------------------------------------------------------------------- step 4

RIGHT_PREDICTION = {"base layer": False, "app layer": True, "base diff_id": False, "app diff_id": True,
                    "config": True, "manifest": True, "index": True}


def test_check_prediction_right_answer():
    result = images_lab.check_prediction(dict(RIGHT_PREDICTION))
    assert result.passed, result.problems
    assert set(RIGHT_PREDICTION) == set(images_lab.PREDICTION_KEYS)


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"base layer": True}, "base layer: you predicted it changes, but the base layer's tar holds only its own files"),
        ({"config": False}, "the config lists every layer's diff_id"),
        ({"manifest": False}, "the manifest holds the config's digest"),
        ({"index": False}, "index.json holds the manifest's digest"),
        ({"app diff_id": False}, "uncompressed app tar now contains"),
        ({"config": "yes"}, "'config': use True or False"),
        ({"index": ...}, "'index': not answered yet"),
        ({"layer": True}, "unknown key 'layer'"),
    ],
)
def test_check_prediction_wrong_values(change, fragment):
    prediction = {**RIGHT_PREDICTION, **change}
    assert_rejected(images_lab.check_prediction(prediction), fragment)


@pytest.mark.parametrize(
    "prediction, fragment",
    [
        (..., "not answered yet"),
        (None, "not answered yet"),
        (["config", "manifest"], "should be a dict"),
        ({k: v for k, v in RIGHT_PREDICTION.items() if k != "manifest"}, "no prediction for 'manifest'"),
    ],
)
def test_check_prediction_wrong_shapes(prediction, fragment):
    assert_rejected(images_lab.check_prediction(prediction), fragment)


# ----------------------------------------------------------------------------- step 5


def test_check_change_right_answer(lab):
    workdir, image, _ = lab
    layers = images_lab.lab_layers()
    layers[1]["app/train.py"] = b"print('version 2')\n"
    result = images_lab.check_change(image, build_changed(workdir, layers))
    assert result.passed, result.problems
    messages = [f.message for f in result.findings]
    assert "base layer: unchanged" in messages and "app layer: changed" in messages
    assert "config: changed" in messages and "index: changed" in messages


def test_check_change_not_built_yet(lab):
    workdir, image, _ = lab
    assert_rejected(images_lab.check_change(image, ...), "not answered yet")
    assert_rejected(images_lab.check_change(image, workdir / images_lab.CHANGED_DIR), "no OCI image layout")


def test_check_change_nothing_changed(lab):
    workdir, image, _ = lab
    assert_rejected(images_lab.check_change(image, build_changed(workdir)), "no file differs")


def test_check_change_wrong_file(lab):
    workdir, image, _ = lab
    layers = images_lab.lab_layers()
    layers[0]["etc/os-release"] = b"changed\n"
    assert_rejected(images_lab.check_change(image, build_changed(workdir, layers)),
                    "but you changed etc/os-release in layer 1")


def test_check_change_added_file(lab):
    workdir, image, _ = lab
    layers = images_lab.lab_layers()
    layers[1]["app/train.py"] = b"v2\n"
    layers[1]["app/extra.py"] = b"\n"
    assert_rejected(images_lab.check_change(image, build_changed(workdir, layers)), "added app/extra.py to layer 2")


def test_check_change_other_config(lab):
    workdir, image, _ = lab
    layers = images_lab.lab_layers()
    layers[1]["app/train.py"] = b"v2\n"
    changed = build_changed(workdir, layers, config={"architecture": "arm64", "os": "linux"})
    assert_rejected(images_lab.check_change(image, changed), "config=images_lab.lab_config()")


def test_check_change_same_directory(lab):
    _, image, _ = lab
    assert_rejected(images_lab.check_change(image, image), "the original image's directory")


def test_check_change_tampered(lab):
    workdir, image, _ = lab
    layers = images_lab.lab_layers()
    layers[1]["app/train.py"] = b"v2\n"
    changed = build_changed(workdir, layers)
    config_blob = next(p for p in (changed / "blobs" / "sha256").iterdir()
                       if p.read_bytes().startswith(b'{"architecture"'))
    config_blob.write_bytes(config_blob.read_bytes().replace(b"amd64", b"arm64"))
    assert_rejected(images_lab.check_change(image, changed), "does not verify")


def test_check_change_fewer_layers(lab):
    workdir, image, _ = lab
    layers = images_lab.lab_layers()
    merged = {**layers[0], **layers[1], "app/train.py": b"v2\n"}
    assert_rejected(images_lab.check_change(image, build_changed(workdir, [merged])), "has 1 layer(s)")


def test_checks_never_raise_on_garbage(tmp_path):
    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "index.json").write_text("{not json")
    for result in (
        images_lab.check_config(tmp_path / "image", object()),
        images_lab.check_layers(tmp_path / "image", [1, 2]),
        images_lab.check_by_hand(tmp_path / "image", b"", 3),
        images_lab.check_change(tmp_path / "image", tmp_path),
        images_lab.check_prediction(42),
    ):
        assert isinstance(result, CheckResult) and not result.passed and result.problems


def test_reset_without_a_directory_does_not_raise():
    assert_rejected(images_lab.reset(None), "no working directory given")
    assert_rejected(images_lab.reset(...), "no working directory given")
