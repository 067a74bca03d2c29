"""Lab 1, "Images are files": set-up, checks and reset.

The lab builds the small OCI image of chapter 2 in a working directory, then asks the learner to
walk it by hand: find the config, list the layers, recompute a layer's digests with ``hashlib``,
predict which digests change when one file changes, and make that change.

Layout of the working directory (``setup(workdir)`` makes the first, the learner makes the second)::

    workdir/image/     the lab's OCI image layout
    workdir/changed/   the learner's rebuilt image with one file changed (step 5)

Every ``check_*`` returns a :class:`~whyk8s.labs.feedback.CheckResult`. None of them raises: an
unanswered placeholder (``...`` or ``None``) is reported as "not answered yet", and a wrong answer
is named together with what was expected. Messages never contain local paths.

:func:`setup` and :func:`reset` delete only directories that are OCI image layouts (they hold an
``oci-layout`` file): ``setup(Path.home())`` refuses instead of removing ``~/image``.
"""

from __future__ import annotations

import copy
import gzip
import json
import shutil
from pathlib import Path

from whyk8s.errors import CourseError
from whyk8s.lessons import oci
from whyk8s.labs.checks import check, first_slip, not_answered, unanswered
from whyk8s.labs.feedback import CheckResult, ResetResult

__all__ = [
    "IMAGE_DIR",
    "CHANGED_DIR",
    "CHANGED_FILE",
    "PREDICTION_KEYS",
    "lab_layers",
    "lab_config",
    "setup",
    "reset",
    "check_config",
    "check_layers",
    "check_by_hand",
    "check_prediction",
    "check_change",
]

#: Sub-directory of the working directory that holds the lab's image layout.
IMAGE_DIR = "image"
#: Sub-directory where the learner writes the changed image (step 5).
CHANGED_DIR = "changed"
#: The file the learner changes in steps 4 and 5 (it lives in the app layer, layer 2).
CHANGED_FILE = "app/train.py"
#: The keys of the step 4 prediction: each maps to True (changes) or False (stays the same).
PREDICTION_KEYS = ("base layer", "app layer", "base diff_id", "app diff_id", "config", "manifest", "index")


def lab_layers() -> list[dict[str, bytes]]:
    """A fresh copy of the lab image's files: layer 1 (base) and layer 2 (app), path → bytes."""
    base = {
        "etc/os-release": b'NAME="whyk8s base"\nVERSION_ID="1"\n',
        "usr/lib/python3.11/site-packages/numpy/version.py": b'version = "1.26.4"\n',
    }
    app = {
        "app/requirements.txt": b"numpy==1.26.4\n",
        "app/train.py": b'import numpy\nprint("training with numpy", numpy.__version__)\n',
    }
    return [base, app]


def lab_config() -> dict:
    """A fresh copy of the lab image's config fields, :data:`whyk8s.lessons.oci.DEFAULT_CONFIG`
    (``rootfs`` is added when the image is built)."""
    return copy.deepcopy(oci.DEFAULT_CONFIG)


def _is_layout(path: Path) -> bool:
    """True for a real directory (not a symbolic link) holding an ``oci-layout`` file."""
    return path.is_dir() and not path.is_symlink() and (path / "oci-layout").is_file()


def setup(workdir) -> oci.ImageLayout:
    """Build the lab's image at ``workdir/image`` (creating ``workdir`` if needed) and return it.

    Running it again rebuilds the same image (same digests), so it is safe to re-run the cell: an
    earlier lab image there is replaced. Anything else at ``workdir/image`` (a folder that is not an
    OCI image layout, a file, a link) is never deleted: raises :class:`~whyk8s.errors.CourseError`
    with a sentence saying so.
    """
    root = Path(workdir)
    image = root / IMAGE_DIR
    if image.is_symlink() or image.exists():
        if not _is_layout(image):
            raise CourseError(f"Refusing to build the lab image in {image}: something is already there and it is "
                              f"not an OCI image layout (no oci-layout file), so the lab did not make it and "
                              f"will not delete it. Give setup() an empty or new working directory, such as "
                              f"Path(tempfile.mkdtemp()).")
        shutil.rmtree(image)
    return oci.build_image_layout(image, lab_layers(), config=lab_config())


def reset(workdir) -> ResetResult:
    """Remove what the lab made: ``image/``, ``changed/`` and the working directory if then empty.

    Only directories that are OCI layouts (they hold an ``oci-layout`` file) are removed; anything
    else is left alone and reported. Returns a :class:`~whyk8s.labs.feedback.ResetResult`
    ("Lab 1 reset: done").
    """
    result = ResetResult("Lab 1 reset")
    if unanswered(workdir):
        result.wrong("no working directory given: pass the WORKDIR from the set-up cell")
        return result
    result.ran = True
    root = Path(workdir)
    for name in (IMAGE_DIR, CHANGED_DIR):
        target = root / name
        if not target.exists() and not target.is_symlink():
            continue
        if _is_layout(target):
            shutil.rmtree(target)
            result.ok(f"removed {name}/")
        else:
            result.wrong(f"left {name}/ in place: it is not an OCI layout, so the lab did not make it")
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
        result.ok("removed the empty working directory")
    if not result.findings:
        result.ok("nothing to remove")
    return result


# ----------------------------------------------------------------------------- helpers


class _Facts:
    """The digests of the lab image, read from disk (so a re-run set-up is always current)."""

    def __init__(self, image_dir):
        root = Path(image_dir)
        self.root = root
        index_bytes = (root / "index.json").read_bytes()
        self.index = oci.sha256_digest(index_bytes)
        self.manifest = json.loads(index_bytes)["manifests"][0]["digest"]
        manifest = json.loads(oci.read_blob(root, self.manifest))
        self.config = manifest["config"]["digest"]
        self.layers = [d["digest"] for d in manifest["layers"]]
        self.diff_ids = json.loads(oci.read_blob(root, self.config))["rootfs"]["diff_ids"]
        self.roles = {self.index: "index", self.manifest: "manifest", self.config: "config"}
        for i, (layer, diff_id) in enumerate(zip(self.layers, self.diff_ids), start=1):
            self.roles[layer] = f"layer {i}"
            self.roles[diff_id] = f"diff_id {i}"

    def describe(self, digest: str) -> str:
        """What a digest is, in words (for messages)."""
        role = self.roles.get(digest)
        if role is None:
            return "no blob or diff_id of this image has that digest"
        if role == "index":
            return "that is the digest of index.json itself"
        if role == "manifest":
            return "that is the manifest's digest (listed in index.json)"
        if role == "config":
            return "that is the config's digest (under the manifest's 'config')"
        n = role.split()[-1]
        if role.startswith("layer"):
            return f"that is the digest of layer {n}, a compressed tar listed under the manifest's 'layers'"
        return (f"that is diff_id {n} from the config's rootfs.diff_ids: the digest of layer {n}'s "
                f"uncompressed tar")


def _load_facts(image_dir, result: CheckResult) -> _Facts | None:
    if unanswered(image_dir):
        result.wrong("the image directory is missing: run the set-up cell (images_lab.setup) first")
        return None
    try:
        return _Facts(image_dir)
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        result.wrong("there is no intact lab image in that directory: run the set-up cell "
                     "(images_lab.setup) again")
        return None


def _digest_format(answer, name: str, facts: _Facts) -> tuple[str | None, str | None]:
    """Return ``(digest, None)`` for a well-formed answer, or ``(None, message)`` saying what is off."""
    if unanswered(answer):
        return None, not_answered(name)
    if isinstance(answer, bytes):
        return None, (f"{name} is bytes; give the digest as text: 'sha256:' + hashlib.sha256(...).hexdigest()")
    if isinstance(answer, oci.Descriptor):
        return None, f"{name} is a whole Descriptor; give just its digest string (its .digest)"
    if not isinstance(answer, str):
        return None, f"{name} should be a string like 'sha256:3f1c…', got {type(answer).__name__}"
    text = answer.strip()
    algo, sep, hexpart = text.partition(":")
    if not sep:
        hexpart = text
        if len(text) == 64 and set(text.lower()) <= set("0123456789abcdef"):
            known = facts.roles.get("sha256:" + text.lower())
            hint = f" (the hex digits are right for the {known})" if known else ""
            return None, (f"{name} has no algorithm prefix{hint}: a digest is written "
                          f"'sha256:' followed by the 64 hex digits")
    elif algo != "sha256":
        return None, f"{name} uses algorithm {algo!r}; OCI images here use 'sha256:'"
    if len(hexpart) in (32, 40) and set(hexpart.lower()) <= set("0123456789abcdef"):
        guess = "MD5" if len(hexpart) == 32 else "SHA-1"
        return None, (f"{name} has {len(hexpart)} hex digits, the length of an {guess} hash; "
                      f"use hashlib.sha256, which gives 64")
    if len(hexpart) != 64:
        return None, f"{name} should have 64 hex digits after 'sha256:', it has {len(hexpart)}"
    if not set(hexpart) <= set("0123456789abcdef"):
        if set(hexpart.lower()) <= set("0123456789abcdef"):
            return None, f"{name} has upper-case hex digits; digests use lower case, as hexdigest() returns"
        return None, f"{name} contains characters that are not hex digits (0-9, a-f)"
    return "sha256:" + hexpart, None


# ----------------------------------------------------------------------------- step 1


@check("Step 1: find the config")
def check_config(result: CheckResult, image_dir, config_digest) -> None:
    """Step 1: ``config_digest`` should be the digest of the image config blob."""
    facts = _load_facts(image_dir, result)
    if facts is None:
        return
    digest, problem = _digest_format(config_digest, "config_digest", facts)
    if problem:
        result.wrong(problem)
    elif digest == facts.config:
        result.ok("config_digest is the digest of the image config "
                  "(mediaType application/vnd.oci.image.config.v1+json)")
    else:
        result.wrong(f"config_digest: {facts.describe(digest)}. Expected the config's digest: open "
                     f"index.json, follow manifests[0] to the manifest blob, then read manifest['config']")


# ----------------------------------------------------------------------------- step 2


@check("Step 2: list the layers")
def check_layers(result: CheckResult, image_dir, layer_digests) -> None:
    """Step 2: ``layer_digests`` should list the manifest's layer digests, bottom layer first."""
    facts = _load_facts(image_dir, result)
    if facts is None:
        return
    if unanswered(layer_digests):
        result.wrong(not_answered("layer_digests"))
        return
    if isinstance(layer_digests, str):
        result.wrong("layer_digests is a single string; give a list with one digest per layer, "
                     "bottom layer first")
        return
    if not isinstance(layer_digests, (list, tuple)):
        result.wrong(f"layer_digests should be a list of digests, got {type(layer_digests).__name__}")
        return
    digests = []
    for i, item in enumerate(layer_digests, start=1):
        digest, problem = _digest_format(item, f"item {i} of layer_digests", facts)
        if problem:
            result.wrong(problem)
        digests.append(digest)
    if not result.findings:
        if list(digests) == facts.layers:
            result.ok(f"the {len(facts.layers)} layer digests, bottom layer first, as the manifest lists them")
        elif sorted(digests) == sorted(facts.diff_ids):
            result.wrong("these are the config's rootfs.diff_ids, the digests of the uncompressed tars; "
                         "the manifest's 'layers' list the digests of the compressed blobs")
        elif sorted(digests) == sorted(facts.layers):
            result.wrong("right digests, wrong order: list them as manifest['layers'] does, bottom layer "
                         "first (order matters: later layers are unpacked on top of earlier ones)")
        else:
            for i, digest in enumerate(digests, start=1):
                if digest not in facts.layers:
                    result.wrong(f"item {i} of layer_digests: {facts.describe(digest)}")
            if len(digests) != len(facts.layers):
                result.wrong(f"the image has {len(facts.layers)} layers; you listed {len(digests)}")
            if not result.findings:  # right digests, repeated or in the wrong places
                result.wrong("list each layer once, in manifest order")


# ----------------------------------------------------------------------------- step 3


def _text_hashes(facts: _Facts, digest: str) -> set[str]:
    """Digests a learner gets by hashing the *name* of a blob instead of its bytes."""
    hexpart = digest.split(":", 1)[1]
    texts = [hexpart, digest, f"blobs/sha256/{hexpart}"]
    return {oci.sha256_digest(t.encode()) for t in texts}


@check("Step 3: verify layer 1 by hand")
def check_by_hand(result: CheckResult, image_dir, my_layer_digest, my_diff_id) -> None:
    """Step 3: the sha256 of layer 1's blob as stored (compressed), and of its uncompressed tar."""
    facts = _load_facts(image_dir, result)
    if facts is None:
        return
    layer, diff_id = facts.layers[0], facts.diff_ids[0]
    blob = oci.read_blob(facts.root, layer)
    inner_files = {oci.sha256_digest(c): n for n, c in oci.layer_files(facts.root, layer).items()}

    text_hashes = _text_hashes(facts, layer)
    twice = oci.sha256_digest(gzip.compress(blob))
    _judge_digest(result, "my_layer_digest", my_layer_digest, facts, layer,
                  "my_layer_digest matches layer 1's digest in the manifest: the blob is intact", [
                      (lambda d: d == diff_id,
                       lambda d: "my_layer_digest is the digest of the uncompressed tar (diff_id 1); the manifest's "
                                 "layer digest is the sha256 of the blob exactly as stored, still gzip-compressed"),
                      (lambda d: d in text_hashes,
                       lambda d: "my_layer_digest is the hash of the blob's name, not of its content: open the blob "
                                 "file in binary mode ('rb') and hash the bytes that read() returns"),
                      (lambda d: d in inner_files,
                       lambda d: f"my_layer_digest is the sha256 of one file inside the layer ({inner_files[d]}); "
                                 f"hash the whole blob file instead"),
                      (lambda d: True,
                       lambda d: f"my_layer_digest: {facts.describe(d)}. Expected the sha256 of layer 1's blob, "
                                 f"blobs/sha256/<hex of manifest['layers'][0]['digest']>"),
                  ])
    _judge_digest(result, "my_diff_id", my_diff_id, facts, diff_id,
                  "my_diff_id matches rootfs.diff_ids[0] in the config: the uncompressed tar is intact", [
                      (lambda d: d == layer,
                       lambda d: "you gave the digest of the compressed layer; diff_ids are digests of the "
                                 "uncompressed tar: hash gzip.decompress(blob) instead"),
                      (lambda d: d == twice,
                       lambda d: "my_diff_id hashes the blob compressed a second time; decompress it "
                                 "(gzip.decompress) instead of compressing it"),
                      (lambda d: d in inner_files,
                       lambda d: f"my_diff_id is the sha256 of one file inside the layer ({inner_files[d]}); "
                                 f"a diff_id covers the whole uncompressed tar"),
                      (lambda d: True,
                       lambda d: f"my_diff_id: {facts.describe(d)}. Expected the sha256 of layer 1's "
                                 f"uncompressed tar, which the config lists as rootfs.diff_ids[0]"),
                  ])


def _judge_digest(result: CheckResult, name: str, answer, facts: _Facts, want: str, right: str, slips) -> None:
    """One finding for a digest answer: its format, then ``right`` if it is ``want``, else the first
    slip of ``slips`` it shows (:func:`whyk8s.labs.checks.first_slip`)."""
    digest, problem = _digest_format(answer, name, facts)
    if problem:
        result.wrong(problem)
    elif digest == want:
        result.ok(right)
    else:
        result.wrong(first_slip(digest, slips))


# ----------------------------------------------------------------------------- step 4

_TRUTH = {"base layer": False, "app layer": True, "base diff_id": False, "app diff_id": True,
          "config": True, "manifest": True, "index": True}

_WHY = {
    "base layer": "the base layer's tar holds only its own files and none of them changed, so its bytes "
                  "and digest stay the same (this is why unchanged layers are shared and cached)",
    "base diff_id": "the base layer's uncompressed tar is byte for byte the same, so its diff_id stays",
    "app layer": f"{CHANGED_FILE} is inside the app layer's tar, so the compressed blob's bytes change "
                 f"and so does its digest",
    "app diff_id": f"the uncompressed app tar now contains the new {CHANGED_FILE}, so its sha256 (the "
                   f"diff_id) changes",
    "config": "the config lists every layer's diff_id under rootfs.diff_ids; a new app diff_id means "
              "new config bytes and so a new config digest",
    "manifest": "the manifest holds the config's digest and every layer's digest; both changed, so the "
                "manifest's bytes and digest change",
    "index": "index.json holds the manifest's digest; a new manifest digest changes index.json and its "
             "digest",
}


@check("Step 4: predict which digests change")
def check_prediction(result: CheckResult, prediction) -> None:
    """Step 4: ``prediction`` maps each key of :data:`PREDICTION_KEYS` to True (the digest changes
    when ``app/train.py`` changes) or False (it stays the same)."""
    if unanswered(prediction):
        result.wrong(not_answered("prediction"))
        return
    if not isinstance(prediction, dict):
        result.wrong(f"prediction should be a dict from each digest's name to True or False, "
                     f"got {type(prediction).__name__}")
        return
    for key in prediction:
        if key not in _TRUTH:
            result.wrong(f"unknown key {key!r}; use exactly these keys: {', '.join(PREDICTION_KEYS)}")
    for key in PREDICTION_KEYS:
        if key not in prediction:
            result.wrong(f"no prediction for {key!r}: add it with True (changes) or False (stays)")
            continue
        value = prediction[key]
        if unanswered(value):
            result.wrong(not_answered(repr(key)))
        elif not isinstance(value, bool):
            result.wrong(f"{key!r}: use True or False, got {value!r}")
        elif value == _TRUTH[key]:
            result.ok(f"{key}: {'changes' if value else 'stays the same'}")
        else:
            said = "changes" if value else "stays the same"
            result.wrong(f"{key}: you predicted it {said}, but {_WHY[key]}")


# ----------------------------------------------------------------------------- step 5


def _files_by_layer(root: Path) -> list[dict[str, bytes]]:
    manifest = oci.read_manifest(root)
    return [oci.layer_files(root, d["digest"]) for d in manifest["layers"]]


@check("Step 5: change a file and compare")
def check_change(result: CheckResult, image_dir, changed_dir) -> None:
    """Step 5: ``changed_dir`` should hold a valid image equal to the lab image except for new
    content in ``app/train.py``; the findings then list which digests actually changed."""
    facts = _load_facts(image_dir, result)
    if facts is None:
        return
    if unanswered(changed_dir):
        result.wrong(not_answered("changed_dir"))
        return
    changed = Path(changed_dir)
    if changed.resolve() == facts.root.resolve():
        result.wrong("changed_dir is the original image's directory; build the changed image in its own "
                     "directory (WORKDIR / 'changed') so that the two can be compared")
        return
    if not (changed / "index.json").is_file():
        result.wrong("there is no OCI image layout in changed_dir yet: run the build_image_layout cell")
        return
    problems = oci.verify_layout(changed)
    if problems:
        result.wrong("the changed image does not verify: " + "; ".join(problems[:3]))
        return

    before, after = _files_by_layer(facts.root), _files_by_layer(changed)
    if len(before) != len(after):
        result.wrong(f"the changed image has {len(after)} layer(s), the lab image {len(before)}; keep the "
                     f"layers from images_lab.lab_layers() and change one file in them")
        return
    edits = []
    for i, (old, new) in enumerate(zip(before, after), start=1):
        for name in sorted(set(old) | set(new)):
            if name not in new:
                edits.append(f"removed {name} from layer {i}")
            elif name not in old:
                edits.append(f"added {name} to layer {i}")
            elif old[name] != new[name]:
                edits.append(f"changed {name} in layer {i}")
    wanted = f"changed {CHANGED_FILE} in layer 2"
    if not edits:
        result.wrong(f"no file differs between the two images; give {CHANGED_FILE} new content "
                     f"(layers[1]['{CHANGED_FILE}'] = b'...') before building")
    elif edits != [wanted]:
        others = [e for e in edits if e != wanted]
        result.wrong(f"the task changes only {CHANGED_FILE} in layer 2, but you {', '.join(others)}")
    else:
        result.ok(f"{CHANGED_FILE} has new content and every other file is the same")

    config_before = json.loads(oci.read_blob(facts.root, facts.config))
    config_after = oci.read_config(changed)
    config_before.pop("rootfs", None)
    config_after.pop("rootfs", None)
    if config_before != config_after:
        result.wrong("the config differs in more than rootfs.diff_ids: build with "
                     "config=images_lab.lab_config() so that only the file changes")
    if not result.passed:
        return

    new = _Facts(changed)
    pairs = [("base layer", facts.layers[0], new.layers[0]), ("app layer", facts.layers[1], new.layers[1]),
             ("base diff_id", facts.diff_ids[0], new.diff_ids[0]),
             ("app diff_id", facts.diff_ids[1], new.diff_ids[1]),
             ("config", facts.config, new.config), ("manifest", facts.manifest, new.manifest),
             ("index", facts.index, new.index)]
    for name, old_digest, new_digest in pairs:
        result.ok(f"{name}: {'unchanged' if old_digest == new_digest else 'changed'}")
