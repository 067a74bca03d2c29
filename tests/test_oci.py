"""Chapter 2's OCI image layout: structure, digests checked independently, tampering, determinism."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from whyk8s.lessons import oci

LAYERS = [
    {"etc/os-release": b'NAME="test"\n', "usr/lib/python3/site-packages/numpy/version.py": b"v = 1\n"},
    {"app/train.py": b"print('hello')\n"},
]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob(root, digest):
    return (root / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


@pytest.fixture
def layout(tmp_path):
    return oci.build_image_layout(tmp_path / "img", LAYERS)


def test_layout_files_and_media_types(layout):
    root = layout.path
    assert json.loads((root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((root / "index.json").read_text())
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    (mdesc,) = index["manifests"]
    assert mdesc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert mdesc["annotations"] == {"org.opencontainers.image.ref.name": "latest"}
    manifest = json.loads(blob(root, mdesc["digest"]))
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert [d["mediaType"] for d in manifest["layers"]] == ["application/vnd.oci.image.layer.v1.tar+gzip"] * 2
    assert manifest == oci.read_manifest(root)


def test_every_digest_and_size_checked_with_hashlib(layout):
    root = layout.path
    index_bytes = (root / "index.json").read_bytes()
    assert layout.index.digest == sha(index_bytes)
    mdesc = json.loads(index_bytes)["manifests"][0]
    manifest_bytes = blob(root, mdesc["digest"])
    assert sha(manifest_bytes) == mdesc["digest"] == layout.manifest.digest
    assert len(manifest_bytes) == mdesc["size"]
    manifest = json.loads(manifest_bytes)
    config_bytes = blob(root, manifest["config"]["digest"])
    assert sha(config_bytes) == manifest["config"]["digest"] and len(config_bytes) == manifest["config"]["size"]
    config = json.loads(config_bytes)
    assert config["rootfs"]["type"] == "layers"
    for ldesc, diff_id, files in zip(manifest["layers"], config["rootfs"]["diff_ids"], LAYERS, strict=True):
        compressed = blob(root, ldesc["digest"])
        assert sha(compressed) == ldesc["digest"] and len(compressed) == ldesc["size"]
        tar_bytes = gzip.decompress(compressed)
        # diff_id is the digest of the *uncompressed* tar, not of the blob.
        assert sha(tar_bytes) == diff_id != ldesc["digest"]
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
            members = tar.getmembers()
            got = {m.name: tar.extractfile(m).read() for m in members if m.isfile()}
        assert got == files
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
    assert config == oci.read_config(root)


def test_blob_files_are_named_by_their_sha256(layout):
    for path in (layout.path / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name


def test_verify_layout_clean(layout):
    assert oci.verify_layout(layout.path) == []


def test_verify_layout_reports_tampered_layer(layout):
    target = layout.path / "blobs" / "sha256" / layout.layers[1].digest.removeprefix("sha256:")
    data = bytearray(target.read_bytes())
    data[-10] ^= 0xFF
    target.write_bytes(bytes(data))
    problems = oci.verify_layout(layout.path)
    assert any("layer 2" in p and "no longer matches" in p for p in problems), problems
    assert any(p.startswith("blobs/sha256/") for p in problems), problems
    assert all(str(layout.path) not in p for p in problems)


def test_verify_layout_reports_missing_blob_and_wrong_size(layout, tmp_path):
    (layout.path / "blobs" / "sha256" / layout.config.digest.removeprefix("sha256:")).unlink()
    assert any("config" in p and "missing" in p for p in oci.verify_layout(layout.path))

    other = oci.build_image_layout(tmp_path / "other", LAYERS)
    index = json.loads((other.path / "index.json").read_text())
    index["manifests"][0]["size"] += 1
    (other.path / "index.json").write_text(json.dumps(index))
    assert any("descriptor says" in p for p in oci.verify_layout(other.path))


def test_verify_layout_reports_diff_id_mismatch(tmp_path):
    # A config whose diff_id is wrong but whose own digest is consistent: rebuild the chain by hand.
    good = oci.build_image_layout(tmp_path / "img", LAYERS)
    root = good.path
    config = oci.read_config(root)
    config["rootfs"]["diff_ids"][0] = sha(b"something else")
    config_bytes = json.dumps(config).encode()
    (root / "blobs" / "sha256" / sha(config_bytes)[7:]).write_bytes(config_bytes)
    manifest = oci.read_manifest(root)
    manifest["config"] = {"mediaType": oci.MEDIA_TYPE_CONFIG, "digest": sha(config_bytes), "size": len(config_bytes)}
    manifest_bytes = json.dumps(manifest).encode()
    (root / "blobs" / "sha256" / sha(manifest_bytes)[7:]).write_bytes(manifest_bytes)
    index = oci.read_index(root)
    index["manifests"][0].update(digest=sha(manifest_bytes), size=len(manifest_bytes))
    (root / "index.json").write_text(json.dumps(index))
    problems = oci.verify_layout(root)
    assert len(problems) == 1 and "layer 1" in problems[0] and "diff_id" in problems[0], problems


def test_same_files_same_digests(tmp_path):
    a = oci.build_image_layout(tmp_path / "a", LAYERS)
    b = oci.build_image_layout(tmp_path / "b", [dict(reversed(list(files.items()))) for files in LAYERS])
    assert a == b  # equal descriptors and diff_ids; the directory is not compared
    assert (a.path / "index.json").read_bytes() == (b.path / "index.json").read_bytes()


def test_changing_one_file_changes_only_its_layer(tmp_path):
    a = oci.build_image_layout(tmp_path / "a", LAYERS)
    changed = [dict(LAYERS[0]), {"app/train.py": b"print('v2')\n"}]
    b = oci.build_image_layout(tmp_path / "b", changed)
    assert a.layers[0] == b.layers[0] and a.diff_ids[0] == b.diff_ids[0]
    assert a.layers[1] != b.layers[1] and a.diff_ids[1] != b.diff_ids[1]
    assert a.config != b.config and a.manifest != b.manifest and a.index != b.index


def test_layer_files_round_trip(layout):
    for desc, files in zip(layout.layers, LAYERS, strict=True):
        assert oci.layer_files(layout.path, desc.digest) == files
    with pytest.raises(ValueError, match="lists no layer"):
        oci.layer_files(layout.path, layout.config.digest)


def test_config_fields_are_kept_and_rootfs_refused(tmp_path):
    cfg = {"architecture": "arm64", "os": "linux", "config": {"Cmd": ["true"]}}
    layout = oci.build_image_layout(tmp_path / "a", LAYERS, config=cfg)
    got = oci.read_config(layout.path)
    assert got["architecture"] == "arm64" and got["config"] == {"Cmd": ["true"]}
    assert "rootfs" not in cfg  # the caller's dict is not modified
    with pytest.raises(ValueError, match="rootfs"):
        oci.build_image_layout(tmp_path / "b", LAYERS, config={"rootfs": {}})


@pytest.mark.parametrize(
    "layers, fragment",
    [
        ([], "at least one layer"),
        ([{"/etc/passwd": b""}], "relative paths"),
        ([{"../escape": b""}], "relative paths"),
        ([{"a.txt": "text"}], "must be bytes"),
        ([{"a": b"", "a/b": b""}], "both as a file and as a directory"),
        (["not a dict"], "must be a dict"),
    ],
)
def test_bad_layers_are_refused(tmp_path, layers, fragment):
    with pytest.raises(ValueError, match=fragment):
        oci.build_image_layout(tmp_path / "x", layers)


def test_repr_hides_the_local_path(layout):
    assert str(layout.path) not in repr(layout)


def test_bad_digest_text_is_refused(layout):
    with pytest.raises(ValueError, match="sha256"):
        oci.read_blob(layout.path, "md5:abc")
    with pytest.raises(FileNotFoundError):
        oci.read_blob(layout.path, sha(b"not in the layout"))


def test_the_image_uses_oci_media_types_and_each_has_a_docker_v2_counterpart(layout):
    """What chapter 2 and lab 1 read: every media type in the built image is an OCI one (spec
    strings, exactly), and each maps to the Docker Image Manifest V2 Schema 2 type a learner meets in
    images such as those on Docker Hub."""
    index = oci.read_index(layout.path)
    manifest = oci.read_manifest(layout.path)
    seen = [index["mediaType"], index["manifests"][0]["mediaType"], manifest["mediaType"],
            manifest["config"]["mediaType"], *(layer["mediaType"] for layer in manifest["layers"])]
    assert set(seen) == {"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                         "application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"}
    assert {oci.media_type_format(t) for t in seen} == {"OCI"}
    assert oci.DOCKER_V2_EQUIVALENTS == {
        "application/vnd.oci.image.index.v1+json": "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json": "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.config.v1+json": "application/vnd.docker.container.image.v1+json",
        "application/vnd.oci.image.layer.v1.tar+gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    }
    assert {oci.media_type_format(t) for t in oci.DOCKER_V2_EQUIVALENTS.values()} == {"Docker v2"}
    assert oci.media_type_format("text/plain") is None and oci.media_type_format(None) is None
