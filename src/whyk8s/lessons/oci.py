"""Chapter 2's OCI image builder: a container image is a directory of files and JSON.

This module writes a tiny but valid *OCI image layout* with nothing but the standard library, then
reads it back and checks it. It follows the OCI Image Format Specification v1.1
(https://github.com/opencontainers/image-spec/blob/v1.1.0/spec.md):

* ``oci-layout`` and ``index.json`` at the top, blobs under ``blobs/sha256/<hex>`` —
  image-layout.md (https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md);
* the index points at a manifest, the manifest at one config and at the layers — image-index.md
  and manifest.md;
* every pointer is a *descriptor* ``{mediaType, digest, size}``; the digest is
  ``sha256:<lowercase hex>`` of the blob's bytes and the size its length in bytes — descriptor.md;
* each layer is a gzip-compressed tar (layer.md); the config lists, under ``rootfs.diff_ids``, the
  sha256 of each layer's *uncompressed* tar — config.md.

Output is deterministic: tar entries are sorted, with mtime 0, uid/gid 0, no user or group names and
fixed modes, and gzip is written with mtime 0 and no file name, so the same files give the same
digests on every run. (The compressed bytes come from zlib; another zlib build could compress the
same tar differently. The uncompressed tar, hence the diff_ids and the config, would not change.)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = [
    "MEDIA_TYPE_INDEX",
    "MEDIA_TYPE_MANIFEST",
    "MEDIA_TYPE_CONFIG",
    "MEDIA_TYPE_LAYER",
    "DOCKER_V2_EQUIVALENTS",
    "media_type_format",
    "REF_NAME_ANNOTATION",
    "DEFAULT_CONFIG",
    "Descriptor",
    "ImageLayout",
    "sha256_digest",
    "layer_tar",
    "build_image_layout",
    "blob_path",
    "read_blob",
    "read_index",
    "read_manifest",
    "read_config",
    "verify_layout",
    "layer_files",
]

#: Media types from the OCI image spec v1.1 (media-types.md).
MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TYPE_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
#: For each OCI media type above, its counterpart in Docker's older *Image Manifest V2, Schema 2*
#: format (https://distribution.github.io/distribution/spec/manifest-v2-2/), from which OCI was
#: derived. The OCI spec lists these as similar schemas, and the Docker layer type as interchangeable
#: with the OCI one (media-types.md, "Compatibility Matrix",
#: https://github.com/opencontainers/image-spec/blob/v1.1.0/media-types.md#compatibility-matrix).
#: Registries and the CRI runtimes (containerd, CRI-O) accept both; many public images still use
#: the Docker types.
DOCKER_V2_EQUIVALENTS = {
    MEDIA_TYPE_INDEX: "application/vnd.docker.distribution.manifest.list.v2+json",
    MEDIA_TYPE_MANIFEST: "application/vnd.docker.distribution.manifest.v2+json",
    MEDIA_TYPE_CONFIG: "application/vnd.docker.container.image.v1+json",
    MEDIA_TYPE_LAYER: "application/vnd.docker.image.rootfs.diff.tar.gzip",
}


def media_type_format(media_type: str) -> str | None:
    """Which image format a media type belongs to: ``"OCI"`` (``application/vnd.oci.…``),
    ``"Docker v2"`` (``application/vnd.docker.…``, Image Manifest V2 Schema 2 and its relatives), or
    ``None`` for anything else. Only the prefix is looked at; it never raises for a string."""
    if not isinstance(media_type, str):
        return None
    if media_type.startswith("application/vnd.oci."):
        return "OCI"
    if media_type.startswith("application/vnd.docker."):
        return "Docker v2"
    return None


#: The pre-defined annotation that names an image inside a layout (annotations.md).
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"

_LAYOUT_VERSION = "1.0.0"
_HEX = set("0123456789abcdef")


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a blob is (``media_type``), its ``digest``
    (``sha256:<hex>``) and its ``size`` in bytes (descriptor.md)."""

    media_type: str
    digest: str
    size: int

    def as_json(self) -> dict:
        """The descriptor as it appears in index.json or a manifest."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class ImageLayout:
    """What :func:`build_image_layout` wrote.

    ``index``, ``manifest``, ``config`` and ``layers`` are descriptors of the blobs (the index
    descriptor describes ``index.json`` itself, which is not stored as a blob); ``diff_ids`` are the
    sha256 digests of the uncompressed layer tars, in layer order. ``path`` is left out of the
    printed form so that notebooks never show a local directory.
    """

    path: Path = field(repr=False, compare=False)
    index: Descriptor
    manifest: Descriptor
    config: Descriptor
    layers: tuple[Descriptor, ...]
    diff_ids: tuple[str, ...]
    ref_name: str = "latest"


# ----------------------------------------------------------------------------- building


def sha256_digest(data: bytes) -> str:
    """``sha256:<64 lowercase hex digits>`` of ``data``: the digest form the OCI spec uses."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _clean_name(name) -> str:
    if not isinstance(name, str):
        raise ValueError(f"file names in a layer must be strings, got {name!r}")
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or str(pure) in ("", "."):
        raise ValueError(f"file names in a layer must be relative paths without '..', got {name!r}")
    return str(pure)


def layer_tar(files: dict[str, bytes]) -> bytes:
    """The uncompressed tar of one layer, built deterministically.

    ``files`` maps relative POSIX paths (``"app/train.py"``) to file contents in bytes. Parent
    directories get their own entries (mode 0755); files get mode 0644; every entry has mtime 0 and
    uid/gid 0; entries are sorted by path.
    """
    if not isinstance(files, dict):
        raise ValueError(f"a layer must be a dict of path → bytes, got {type(files).__name__}")
    cleaned: dict[str, bytes] = {}
    for name, content in files.items():
        path = _clean_name(name)
        if not isinstance(content, (bytes, bytearray)):
            raise ValueError(f"the content of {name!r} must be bytes, got {type(content).__name__} "
                             f"(encode text with .encode())")
        cleaned[path] = bytes(content)
    dirs = {str(p) for name in cleaned for p in PurePosixPath(name).parents if str(p) != "."}
    clash = dirs & set(cleaned)
    if clash:
        raise ValueError(f"{sorted(clash)[0]!r} is used both as a file and as a directory")

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(dirs | set(cleaned)):
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if name in cleaned:
                info.type = tarfile.REGTYPE
                info.mode = 0o644
                info.size = len(cleaned[name])
                tar.addfile(info, io.BytesIO(cleaned[name]))
            else:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def _json_bytes(obj) -> bytes:
    """Canonical-enough JSON: sorted keys, no spaces, UTF-8. Same object, same bytes, same digest."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _write_blob(root: Path, data: bytes) -> str:
    digest = sha256_digest(data)
    target = root / "blobs" / "sha256" / digest.split(":", 1)[1]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return digest


#: Default image config fields (config.md). ``rootfs`` is always computed from the layers.
DEFAULT_CONFIG = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Cmd": ["python", "/app/train.py"], "Env": ["PYTHONUNBUFFERED=1"], "WorkingDir": "/app"},
}


def build_image_layout(path, layers: list[dict[str, bytes]], config: dict | None = None,
                       ref_name: str = "latest") -> ImageLayout:
    """Write an OCI image layout for one image to the directory ``path`` and describe it.

    Parameters
    ----------
    path:
        Directory to write (created if missing). Existing ``oci-layout`` and ``index.json`` are
        replaced; blobs are added next to any already there.
    layers:
        One dict per layer, bottom layer first, mapping relative paths to file contents (bytes).
    config:
        Image config fields (``architecture``, ``os``, ``config`` with ``Cmd``/``Env``…; see the
        spec's config.md). Defaults to :data:`DEFAULT_CONFIG`. ``rootfs`` is computed here from the
        layers and may not be given.
    ref_name:
        The ``org.opencontainers.image.ref.name`` annotation of the manifest in ``index.json``.

    Raises ``ValueError`` for no layers, a layer that is not a dict of path → bytes, or a config
    that sets ``rootfs``.
    """
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError("an image needs a list with at least one layer (a dict of path → bytes)")
    cfg = dict(DEFAULT_CONFIG if config is None else config)
    if "rootfs" in cfg:
        raise ValueError("leave rootfs out of the config: build_image_layout computes the diff_ids itself")
    tars = [layer_tar(files) for files in layers]

    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    layer_descs, diff_ids = [], []
    for tar in tars:
        blob = _gzip(tar)
        layer_descs.append(Descriptor(MEDIA_TYPE_LAYER, _write_blob(root, blob), len(blob)))
        diff_ids.append(sha256_digest(tar))

    cfg["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    config_bytes = _json_bytes(cfg)
    config_desc = Descriptor(MEDIA_TYPE_CONFIG, _write_blob(root, config_bytes), len(config_bytes))

    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_MANIFEST,
        "config": config_desc.as_json(),
        "layers": [d.as_json() for d in layer_descs],
    }
    manifest_bytes = _json_bytes(manifest)
    manifest_desc = Descriptor(MEDIA_TYPE_MANIFEST, _write_blob(root, manifest_bytes), len(manifest_bytes))

    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_INDEX,
        "manifests": [{**manifest_desc.as_json(), "annotations": {REF_NAME_ANNOTATION: ref_name}}],
    }
    index_bytes = _json_bytes(index)
    (root / "index.json").write_bytes(index_bytes)
    (root / "oci-layout").write_bytes(_json_bytes({"imageLayoutVersion": _LAYOUT_VERSION}))
    return ImageLayout(root, Descriptor(MEDIA_TYPE_INDEX, sha256_digest(index_bytes), len(index_bytes)),
                       manifest_desc, config_desc, tuple(layer_descs), tuple(diff_ids), ref_name)


# ----------------------------------------------------------------------------- reading


def _check_digest(digest) -> str:
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise ValueError(f"a digest looks like 'sha256:<64 hex digits>', got {digest!r}")
    hexpart = digest.split(":", 1)[1]
    if len(hexpart) != 64 or not set(hexpart) <= _HEX:
        raise ValueError(f"a sha256 digest has 64 lowercase hex digits after 'sha256:', got {digest!r}")
    return hexpart


def blob_path(path, digest: str) -> Path:
    """Where the blob with ``digest`` lives inside the layout: ``blobs/sha256/<hex>``."""
    return Path(path) / "blobs" / "sha256" / _check_digest(digest)


def read_blob(path, digest: str) -> bytes:
    """The bytes of one blob. Raises ``FileNotFoundError`` if the layout has no such blob."""
    target = blob_path(path, digest)
    if not target.is_file():
        raise FileNotFoundError(f"no blob {digest} in this layout")
    return target.read_bytes()


def read_index(path) -> dict:
    """``index.json`` of the layout, parsed."""
    return json.loads((Path(path) / "index.json").read_bytes())


def _manifest_descriptor(path, ref_name: str | None) -> dict:
    manifests = read_index(path).get("manifests", [])
    if not manifests:
        raise ValueError("index.json lists no manifests")
    if ref_name is None:
        return manifests[0]
    for desc in manifests:
        if desc.get("annotations", {}).get(REF_NAME_ANNOTATION) == ref_name:
            return desc
    raise ValueError(f"index.json has no manifest named {ref_name!r}")


def read_manifest(path, ref_name: str | None = None) -> dict:
    """Follow ``index.json`` to the image manifest and return it parsed.

    With ``ref_name`` the manifest annotated with that ``org.opencontainers.image.ref.name`` is
    used, otherwise the first one (image-layout.md, image-index.md).
    """
    desc = _manifest_descriptor(path, ref_name)
    return json.loads(read_blob(path, desc["digest"]))


def read_config(path, ref_name: str | None = None) -> dict:
    """Follow index → manifest → config and return the image config parsed (config.md)."""
    manifest = read_manifest(path, ref_name)
    return json.loads(read_blob(path, manifest["config"]["digest"]))


def layer_files(path, digest: str) -> dict[str, bytes]:
    """The regular files inside one layer, as ``{path: bytes}``.

    ``digest`` is the layer's digest as listed in the manifest (the compressed blob). Raises
    ``ValueError`` if the manifest lists no layer with that digest.
    """
    manifest = read_manifest(path)
    listed = [d["digest"] for d in manifest.get("layers", [])]
    if digest not in listed:
        raise ValueError(f"the manifest lists no layer with digest {digest!r} "
                         f"(layers are: {', '.join(d[:19] + '…' for d in listed)})")
    data = gzip.decompress(read_blob(path, digest))
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar.getmembers():
            if member.isfile():
                files[member.name] = tar.extractfile(member).read()
    return files


# ----------------------------------------------------------------------------- verifying


def _short(digest: str) -> str:
    return digest[:19] + "…" if isinstance(digest, str) and len(digest) > 19 else str(digest)


def _verify_descriptor(root: Path, desc, expected_type: str, what: str, problems: list[str]) -> bytes | None:
    """Check one descriptor against its blob; return the blob's bytes when they can be trusted."""
    if not isinstance(desc, dict):
        problems.append(f"{what}: the descriptor is not a JSON object")
        return None
    media_type, digest, size = desc.get("mediaType"), desc.get("digest"), desc.get("size")
    if media_type != expected_type:
        problems.append(f"{what}: mediaType is {media_type!r}, expected {expected_type!r}")
    try:
        target = blob_path(root, digest)
    except ValueError as exc:
        problems.append(f"{what}: {exc}")
        return None
    if not target.is_file():
        problems.append(f"{what}: blob {_short(digest)} is missing from blobs/sha256/")
        return None
    data = target.read_bytes()
    ok = True
    if len(data) != size:
        problems.append(f"{what}: descriptor says {size} bytes, blob {_short(digest)} has {len(data)}")
        ok = False
    if sha256_digest(data) != digest:
        problems.append(f"{what}: blob {_short(digest)} has sha256 {_short(sha256_digest(data))}; "
                        f"its content no longer matches its digest")
        ok = False
    return data if ok else None


def verify_layout(path) -> list[str]:
    """Check an OCI image layout and return a list of problems (empty when all is well).

    Recomputes the sha256 of every blob under ``blobs/sha256/`` and compares it with the file name,
    then walks index → manifests → config and layers, comparing each descriptor's mediaType, digest
    and size with the blob it points to, and finally checks that each layer's uncompressed tar
    hashes to the matching ``rootfs.diff_ids`` entry of the config (image-layout.md,
    descriptor.md, config.md). Messages name blobs by short digest, never by local path.
    """
    root = Path(path)
    problems: list[str] = []
    if not root.is_dir():
        return ["there is no directory at the given path"]
    try:
        layout = json.loads((root / "oci-layout").read_bytes())
        if layout.get("imageLayoutVersion") != _LAYOUT_VERSION:
            problems.append(f"oci-layout: imageLayoutVersion is {layout.get('imageLayoutVersion')!r}, "
                            f"expected {_LAYOUT_VERSION!r}")
    except (OSError, ValueError, AttributeError):
        problems.append("oci-layout is missing or is not JSON")

    blob_dir = root / "blobs" / "sha256"
    for blob in sorted(blob_dir.iterdir()) if blob_dir.is_dir() else []:
        if blob.is_file() and "sha256:" + blob.name != sha256_digest(blob.read_bytes()):
            problems.append(f"blobs/sha256/{blob.name[:12]}…: the content's sha256 is "
                            f"{_short(sha256_digest(blob.read_bytes()))}, not the file's name")

    try:
        index = json.loads((root / "index.json").read_bytes())
    except (OSError, ValueError):
        problems.append("index.json is missing or is not JSON")
        return problems
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not manifests:
        problems.append("index.json lists no manifests")
        return problems

    for i, mdesc in enumerate(manifests, start=1):
        name = f"manifest {i}" if len(manifests) > 1 else "manifest"
        data = _verify_descriptor(root, mdesc, MEDIA_TYPE_MANIFEST, f"index.json → {name}", problems)
        if data is None:
            continue
        try:
            manifest = json.loads(data)
        except ValueError:
            problems.append(f"{name}: blob is not JSON")
            continue
        cdata = _verify_descriptor(root, manifest.get("config"), MEDIA_TYPE_CONFIG, f"{name} → config",
                                   problems)
        layer_tars = []
        for j, ldesc in enumerate(manifest.get("layers", []), start=1):
            ldata = _verify_descriptor(root, ldesc, MEDIA_TYPE_LAYER, f"{name} → layer {j}", problems)
            if ldata is None:
                layer_tars.append(None)
                continue
            try:
                layer_tars.append(gzip.decompress(ldata))
            except (OSError, EOFError):
                problems.append(f"{name} → layer {j}: blob is not valid gzip")
                layer_tars.append(None)
        if cdata is None:
            continue
        try:
            diff_ids = json.loads(cdata)["rootfs"]["diff_ids"]
        except (ValueError, KeyError, TypeError):
            problems.append(f"{name} → config: no rootfs.diff_ids")
            continue
        if len(diff_ids) != len(layer_tars):
            problems.append(f"{name}: config lists {len(diff_ids)} diff_ids for {len(layer_tars)} layers")
            continue
        for j, (tar, diff_id) in enumerate(zip(layer_tars, diff_ids, strict=True), start=1):
            if tar is not None and sha256_digest(tar) != diff_id:
                problems.append(f"{name} → layer {j}: uncompressed tar has sha256 "
                                f"{_short(sha256_digest(tar))}, config diff_id says {_short(diff_id)}")
    return problems
