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
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from whyk8s.lessons import oci
from whyk8s.labs.feedback import CheckResult
from whyk8s.labs.common import never_raise

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

NOT_ANSWERED = "not answered yet: replace the ... with your answer and run the cell again"


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
    """A fresh copy of the lab image's config fields (``rootfs`` is added when the image is built)."""
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["python", "/app/train.py"], "Env": ["PYTHONUNBUFFERED=1"], "WorkingDir": "/app"},
    }


def setup(workdir) -> oci.ImageLayout:
    """Build the lab's image at ``workdir/image`` (creating ``workdir`` if needed) and return it.

    Running it again rebuilds the same image (same digests), so it is safe to re-run the cell.
    """
    root = Path(workdir)
    image = root / IMAGE_DIR
    if image.exists():
        shutil.rmtree(image)
    return oci.build_image_layout(image, lab_layers(), config=lab_config())


def reset(workdir) -> CheckResult:
    """Remove what the lab made: ``image/``, ``changed/`` and the working directory if then empty.

    Only directories that are OCI layouts (they hold an ``oci-layout`` file) are removed; anything
    else is left alone and reported.
    """
    result = CheckResult("Lab 1 reset")
    if _unanswered(workdir):
        result.wrong("no working directory given: pass the WORKDIR from the set-up cell")
        return result
    root = Path(workdir)
    for name in (IMAGE_DIR, CHANGED_DIR):
        target = root / name
        if not target.exists():
            continue
        if (target / "oci-layout").is_file():
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


def _unanswered(value) -> bool:
    return value is None or value is Ellipsis


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
    if _unanswered(image_dir):
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
    if _unanswered(answer):
        return None, f"{name}: {NOT_ANSWERED}"
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


@never_raise("Step 1: find the config")
def check_config(image_dir, config_digest) -> CheckResult:
    """Step 1: ``config_digest`` should be the digest of the image config blob."""
    result = CheckResult("Step 1: find the config")
    facts = _load_facts(image_dir, result)
    if facts is None:
        return result
    digest, problem = _digest_format(config_digest, "config_digest", facts)
    if problem:
        result.wrong(problem)
    elif digest == facts.config:
        result.ok("config_digest is the digest of the image config "
                  "(mediaType application/vnd.oci.image.config.v1+json)")
    else:
        result.wrong(f"config_digest: {facts.describe(digest)}. Expected the config's digest: open "
                     f"index.json, follow manifests[0] to the manifest blob, then read manifest['config']")
    return result


# ----------------------------------------------------------------------------- step 2


@never_raise("Step 2: list the layers")
def check_layers(image_dir, layer_digests) -> CheckResult:
    """Step 2: ``layer_digests`` should list the manifest's layer digests, bottom layer first."""
    result = CheckResult("Step 2: list the layers")
    facts = _load_facts(image_dir, result)
    if facts is None:
        return result
    if _unanswered(layer_digests):
        result.wrong(f"layer_digests: {NOT_ANSWERED}")
        return result
    if isinstance(layer_digests, str):
        result.wrong("layer_digests is a single string; give a list with one digest per layer, "
                     "bottom layer first")
        return result
    if not isinstance(layer_digests, (list, tuple)):
        result.wrong(f"layer_digests should be a list of digests, got {type(layer_digests).__name__}")
        return result
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
    return result


# ----------------------------------------------------------------------------- step 3


def _text_hashes(facts: _Facts, digest: str) -> set[str]:
    """Digests a learner gets by hashing the *name* of a blob instead of its bytes."""
    hexpart = digest.split(":", 1)[1]
    texts = [hexpart, digest, f"blobs/sha256/{hexpart}"]
    return {oci.sha256_digest(t.encode()) for t in texts}


@never_raise("Step 3: verify layer 1 by hand")
def check_by_hand(image_dir, my_layer_digest, my_diff_id) -> CheckResult:
    """Step 3: the sha256 of layer 1's blob as stored (compressed), and of its uncompressed tar."""
    result = CheckResult("Step 3: verify layer 1 by hand")
    facts = _load_facts(image_dir, result)
    if facts is None:
        return result
    layer, diff_id = facts.layers[0], facts.diff_ids[0]
    blob = oci.read_blob(facts.root, layer)
    inner_files = {oci.sha256_digest(c): n for n, c in oci.layer_files(facts.root, layer).items()}

    digest, problem = _digest_format(my_layer_digest, "my_layer_digest", facts)
    if problem:
        result.wrong(problem)
    elif digest == layer:
        result.ok("my_layer_digest matches layer 1's digest in the manifest: the blob is intact")
    elif digest == diff_id:
        result.wrong("my_layer_digest is the digest of the uncompressed tar (diff_id 1); the manifest's "
                     "layer digest is the sha256 of the blob exactly as stored, still gzip-compressed")
    elif digest in _text_hashes(facts, layer):
        result.wrong("my_layer_digest is the hash of the blob's name, not of its content: open the blob "
                     "file in binary mode ('rb') and hash the bytes that read() returns")
    elif digest in inner_files:
        result.wrong(f"my_layer_digest is the sha256 of one file inside the layer "
                     f"({inner_files[digest]}); hash the whole blob file instead")
    else:
        result.wrong(f"my_layer_digest: {facts.describe(digest)}. Expected the sha256 of layer 1's "
                     f"blob, blobs/sha256/<hex of manifest['layers'][0]['digest']>")

    digest, problem = _digest_format(my_diff_id, "my_diff_id", facts)
    if problem:
        result.wrong(problem)
    elif digest == diff_id:
        result.ok("my_diff_id matches rootfs.diff_ids[0] in the config: the uncompressed tar is intact")
    elif digest == layer:
        result.wrong("you gave the digest of the compressed layer; diff_ids are digests of the "
                     "uncompressed tar: hash gzip.decompress(blob) instead")
    elif digest == oci.sha256_digest(gzip.compress(blob)):
        result.wrong("my_diff_id hashes the blob compressed a second time; decompress it "
                     "(gzip.decompress) instead of compressing it")
    elif digest in inner_files:
        result.wrong(f"my_diff_id is the sha256 of one file inside the layer ({inner_files[digest]}); "
                     f"a diff_id covers the whole uncompressed tar")
    else:
        result.wrong(f"my_diff_id: {facts.describe(digest)}. Expected the sha256 of layer 1's "
                     f"uncompressed tar, which the config lists as rootfs.diff_ids[0]")
    return result


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


@never_raise("Step 4: predict which digests change")
def check_prediction(prediction) -> CheckResult:
    """Step 4: ``prediction`` maps each key of :data:`PREDICTION_KEYS` to True (the digest changes
    when ``app/train.py`` changes) or False (it stays the same)."""
    result = CheckResult("Step 4: predict which digests change")
    if _unanswered(prediction):
        result.wrong(f"prediction: {NOT_ANSWERED}")
        return result
    if not isinstance(prediction, dict):
        result.wrong(f"prediction should be a dict from each digest's name to True or False, "
                     f"got {type(prediction).__name__}")
        return result
    for key in prediction:
        if key not in _TRUTH:
            result.wrong(f"unknown key {key!r}; use exactly these keys: {', '.join(PREDICTION_KEYS)}")
    for key in PREDICTION_KEYS:
        if key not in prediction:
            result.wrong(f"no prediction for {key!r}: add it with True (changes) or False (stays)")
            continue
        value = prediction[key]
        if _unanswered(value):
            result.wrong(f"{key!r}: {NOT_ANSWERED}")
        elif not isinstance(value, bool):
            result.wrong(f"{key!r}: use True or False, got {value!r}")
        elif value == _TRUTH[key]:
            result.ok(f"{key}: {'changes' if value else 'stays the same'}")
        else:
            said = "changes" if value else "stays the same"
            result.wrong(f"{key}: you predicted it {said}, but {_WHY[key]}")
    return result


# ----------------------------------------------------------------------------- step 5


def _files_by_layer(root: Path) -> list[dict[str, bytes]]:
    manifest = oci.read_manifest(root)
    return [oci.layer_files(root, d["digest"]) for d in manifest["layers"]]


@never_raise("Step 5: change a file and compare")
def check_change(image_dir, changed_dir) -> CheckResult:
    """Step 5: ``changed_dir`` should hold a valid image equal to the lab image except for new
    content in ``app/train.py``; the findings then list which digests actually changed."""
    result = CheckResult("Step 5: change a file and compare")
    facts = _load_facts(image_dir, result)
    if facts is None:
        return result
    if _unanswered(changed_dir):
        result.wrong(f"changed_dir: {NOT_ANSWERED}")
        return result
    changed = Path(changed_dir)
    if changed.resolve() == facts.root.resolve():
        result.wrong("changed_dir is the original image's directory; build the changed image in its own "
                     "directory (WORKDIR / 'changed') so that the two can be compared")
        return result
    if not (changed / "index.json").is_file():
        result.wrong("there is no OCI image layout in changed_dir yet: run the build_image_layout cell")
        return result
    problems = oci.verify_layout(changed)
    if problems:
        result.wrong("the changed image does not verify: " + "; ".join(problems[:3]))
        return result

    before, after = _files_by_layer(facts.root), _files_by_layer(changed)
    if len(before) != len(after):
        result.wrong(f"the changed image has {len(after)} layer(s), the lab image {len(before)}; keep the "
                     f"layers from images_lab.lab_layers() and change one file in them")
        return result
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
        return result

    new = _Facts(changed)
    pairs = [("base layer", facts.layers[0], new.layers[0]), ("app layer", facts.layers[1], new.layers[1]),
             ("base diff_id", facts.diff_ids[0], new.diff_ids[0]),
             ("app diff_id", facts.diff_ids[1], new.diff_ids[1]),
             ("config", facts.config, new.config), ("manifest", facts.manifest, new.manifest),
             ("index", facts.index, new.index)]
    for name, old_digest, new_digest in pairs:
        result.ok(f"{name}: {'unchanged' if old_digest == new_digest else 'changed'}")
    return result
