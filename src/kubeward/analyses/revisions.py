"""The two sides of a `diff`: two folders, one folder at two git revisions, or a live cluster and
the same cluster with files applied over it, analysed under one profile so that a change in policy
never reads as a change of CNI."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..engine.options import Cni, Mesh, Options
from ..errors import UsageError
from ..live import LiveSnapshot, read_cluster
from .diff import ConfigDiff, diff
from .session import Analysis, analyse_cluster, analyse_paths


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a diff: where its files are read and how the report names it."""

    path: str             # where the files are read ("" with a cluster: none)
    label: str            # how the side is named in the report
    real_root: str = ""   # a git revision: the temporary checkout, shown as ``label`` in file:line
    cluster: LiveSnapshot | None = None  # a live cluster, ``path`` (if any) applied over it

    def shown_as(self, file: str) -> str:
        """``file`` as the report shows it: under ``label`` instead of the temporary checkout."""
        return self.label + file[len(self.real_root):] if self.real_root and file.startswith(self.real_root) else file

    def analyse(self, options: Options) -> Analysis:
        if self.cluster is not None:
            return analyse_cluster(self.cluster, overlay=[self.path] if self.path else [], options=options)
        return analyse_paths([self.path], options, shown_as=self.shown_as if self.real_root else None)


def analyse_sides(old_side: Side, new_side: Side, options: Options) -> tuple[Analysis, Analysis]:
    """Both sides under one set of semantics. With cni/mesh auto, NEW decides; when NEW names
    no CNI (or mesh) but OLD does — the change removed its last Cilium or Istio policy — OLD's applies."""
    new = new_side.analyse(options)
    old = old_side.analyse(replace(options, cni=new.options.cni, mesh=new.options.mesh))
    cni_open = options.cni == Cni.AUTO and new.options.cni == Cni.GENERIC
    mesh_open = options.mesh == Mesh.AUTO and new.options.mesh != Mesh.ISTIO
    if cni_open or mesh_open:
        probe = old_side.analyse(options)
        cni = probe.options.cni if cni_open else new.options.cni
        mesh = probe.options.mesh if mesh_open else new.options.mesh
        if (cni, mesh) != (new.options.cni, new.options.mesh):
            new = new_side.analyse(replace(options, cni=cni, mesh=mesh))
            old = probe if (probe.options.cni, probe.options.mesh) == (cni, mesh) else \
                old_side.analyse(replace(options, cni=cni, mesh=mesh))
    return old, new


def git_side(path: str, rev: str, tmp: Path) -> Side:
    """PATH as it is at git revision REV, extracted with ``git archive`` under ``tmp``; its files
    are named ``PATH@REV/...`` in every file:line. Raises ``UsageError`` when git cannot read it."""
    try:
        top = subprocess.run(["git", "-C", path, "rev-parse", "--show-toplevel"], check=True,
                             capture_output=True, text=True).stdout.strip()
        prefix = subprocess.run(["git", "-C", path, "rev-parse", "--show-prefix"], check=True,
                                capture_output=True, text=True).stdout.strip()
        archive = subprocess.run(["git", "-C", top, "archive", rev, prefix or "."], check=True, capture_output=True)
        target = tmp / rev.replace("/", "_")
        target.mkdir()
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(target, filter="data")
    except (subprocess.CalledProcessError, OSError, tarfile.TarError) as exc:
        detail = str(exc)
        if isinstance(exc, subprocess.CalledProcessError) and exc.stderr:
            err = exc.stderr
            detail = (err.decode(errors="replace") if isinstance(err, bytes) else err).strip()
        raise UsageError(f"cannot read {path} at {rev}: {detail}") from exc
    root = str(target / prefix).rstrip("/") if prefix else str(target)
    return Side(root, f"{path.rstrip('/')}@{rev}", root)


@dataclass(slots=True)
class DiffRun:
    """A diff and the two analyses it compared (their diagnostics are the input problems of each side)."""

    old: Analysis
    new: Analysis
    result: ConfigDiff

    def exit_code(self, changes_fail: bool = False) -> int:
        """2: input errors on either side; 1: something changed and ``changes_fail``; 0 otherwise."""
        if self.old.diagnostics.has_errors or self.new.diagnostics.has_errors:
            return 2
        return 1 if changes_fail and self.result.changed else 0


def diff_sides(old_side: Side, new_side: Side, options: Options | None = None) -> DiffRun:
    """Analyse both sides under one profile (``analyse_sides``) and compare them."""
    old, new = analyse_sides(old_side, new_side, options or Options())
    return DiffRun(old, new, diff(old, new, old_side.label, new_side.label))


def diff_paths(old: str, new: str, *, options: Options | None = None) -> DiffRun:
    """What changed in what is allowed between the files or folders ``old`` and ``new``."""
    return diff_sides(Side(old, old), Side(new, new), options)


def diff_revisions(path: str, old_rev: str, new_rev: str, *, options: Options | None = None) -> DiffRun:
    """What changed in what is allowed between two git revisions of ``path`` (a folder or file in a
    git work tree). Raises ``UsageError`` when git cannot read a revision."""
    with tempfile.TemporaryDirectory() as tmp:
        sides = [git_side(path, rev, Path(tmp)) for rev in (old_rev, new_rev)]
        return diff_sides(sides[0], sides[1], options)


def diff_cluster(new: str, *, cluster: LiveSnapshot | None = None, kubeconfig: str | None = None,
                 context: str | None = None, options: Options | None = None) -> DiffRun:
    """What ``kubectl apply -f new`` would change in what the live cluster allows: OLD is the
    cluster as it runs (``cluster``, else read now from the kubeconfig context), NEW the same
    objects with the files of ``new`` applied over them. Raises ``ClusterError`` when the cluster
    cannot be read."""
    if cluster is None:
        cluster = read_cluster(kubeconfig=kubeconfig, context=context,
                               root_namespace=(options or Options()).root_namespace)
    return diff_sides(Side("", cluster.label, cluster=cluster),
                      Side(new, f"{cluster.label} + {new}", cluster=cluster), options)


def diff_staged(path: str, *, cluster: LiveSnapshot | None = None, options: Options | None = None) -> DiffRun:
    """What enforcing the staged and dry-run policies of ``path`` (or of the live ``cluster``,
    ``path`` applied over it) would change (CAL-23, IST-40): OLD is the input as enforced today,
    NEW the same input with ``--enforce-staged``. Both sides under one CNI and mesh: NEW's."""
    options = options or Options()
    side = Side(path, path, cluster=cluster) if cluster is None else Side(
        path, f"{cluster.label} + {path}" if path else cluster.label, cluster=cluster)
    new = side.analyse(replace(options, enforce_staged=True))
    old = side.analyse(replace(options, enforce_staged=False, cni=new.options.cni, mesh=new.options.mesh))
    label = side.label
    return DiffRun(old, new, diff(old, new, f"{label} (enforced today)", f"{label} (staged enforced)"))
