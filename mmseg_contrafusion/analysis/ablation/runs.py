"""Training and testing the runs of a grid, resumably.

Each run (variant, seed) goes through the project's own tools, as a user
would run them: ``tools/train.py`` (``tools/dist_train.sh`` for more than
one process) and then ``tools/test.py --eval mIoU mDice`` on the last
checkpoint: the same Runner, configs and ``IoUMetric``. A run's folder is
``<work_dir>/<variant>/seed<k>/``; its ``result.json`` is written last, so

* a run with a ``result.json`` is finished and skipped;
* a run killed while training (a ``last_checkpoint`` but no
  ``result.json``) resumes with ``--resume``;
* a run killed while testing tests its final checkpoint again.
"""
import inspect
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..configs import repo_path
from .grid import AblationGrid, Variant

#: The metrics every run reports (``tools/test.py --eval``; aAcc always).
METRICS = ('mIoU', 'mDice', 'aAcc')
RESULT_FILE = 'result.json'


class RunFailed(RuntimeError):
    """A training or test process of a run exited with an error."""


def run_dir(work_dir: str, variant: str, seed: int) -> str:
    """``<work_dir>/<variant>/seed<seed>``."""
    return osp.join(work_dir, variant, f'seed{seed}')


def seed_options(model_cfg: Any, seed: int, prefix: str = 'model') -> dict:
    """``--cfg-options`` that seed every loss with a ``seed`` argument.

    mmengine's ``randomness.seed`` seeds weight init and data order; the
    contrastive losses draw their positions from their own ``seed`` (see
    :class:`mmseg_contrafusion.models.utils.SampleSeeder`), which this sets
    to the same value wherever the built class takes one.

    Args:
        model_cfg (dict): The config's ``model``.
        seed (int): The run's seed.
        prefix (str): Dotted path of ``model_cfg``. Defaults to 'model'.

    Returns:
        dict: Dotted keys -> ``seed``.
    """
    import mmseg_contrafusion  # noqa: F401  (registers the losses)
    from mmseg.registry import MODELS

    options = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            cls = MODELS.get(node['type']) if isinstance(
                node.get('type'), str) else None
            if cls is not None and 'seed' in inspect.signature(
                    cls.__init__).parameters:
                options[f'{path}.seed'] = seed
            for key, value in node.items():
                walk(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}')

    walk(model_cfg, prefix)
    return options


def run_options(variant: Variant, seed: int) -> Dict[str, Any]:
    """Every ``--cfg-options`` of one run: the variant's and the seeds."""
    from mmengine.config import Config

    cfg = Config.fromfile(repo_path(variant.config))
    cfg.merge_from_dict(dict(variant.cfg_options))
    return {
        **variant.cfg_options, 'randomness.seed': seed,
        **seed_options(cfg.model.to_dict(), seed)
    }


def _format_options(options: Dict[str, Any]) -> List[str]:
    out = []
    for key, value in options.items():
        if isinstance(value, str):
            value = repr(value)
        out.append(f'{key}={value}')
    return out


def _run(command: Sequence[str], log_file: str, env: Dict[str, str]) -> None:
    with open(log_file, 'a') as log:
        log.write('$ ' + ' '.join(command) + '\n')
        log.flush()
        code = subprocess.call(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=repo_path('.'))
    if code != 0:
        raise RunFailed(f'{command[1] if len(command) > 1 else command[0]} '
                        f'exited with status {code}; see {log_file}')


def train_command(variant: Variant, options: Dict[str, Any], folder: str,
                  gpus: int, launcher: str, resume: bool) -> List[str]:
    """The command that trains one run (``tools/train.py`` or, for more than
    one process, ``tools/dist_train.sh``)."""
    config = repo_path(variant.config)
    tail = ['--work-dir', folder]
    if resume:
        tail.append('--resume')
    tail += ['--cfg-options'] + _format_options(options)
    if gpus > 1:
        return ['bash',
                repo_path('tools/dist_train.sh'), config,
                str(gpus)] + tail
    return [
        sys.executable,
        repo_path('tools/train.py'), config, '--launcher', launcher
    ] + tail


def final_checkpoint(folder: str) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` names, if training wrote one."""
    pointer = osp.join(folder, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    return path if osp.isfile(path) else None


def _latest_metrics(test_dir: str) -> Dict[str, float]:
    found = []
    for root, _, files in os.walk(test_dir):
        for name in files:
            if name.endswith('.json') and name[:8].isdigit():
                found.append(osp.join(root, name))
    if not found:
        raise RunFailed(f'tools/test.py wrote no metrics JSON in {test_dir}')
    with open(max(found, key=osp.getmtime)) as f:
        metrics = json.load(f)
    return {key: float(metrics[key]) for key in METRICS}


def run_one(variant: Variant,
            seed: int,
            work_dir: str,
            max_iters: int,
            gpus: int = 1,
            launcher: str = 'none',
            log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Train and test one run, or read its result if it is finished.

    Args:
        variant (Variant): The model.
        seed (int): The seed.
        work_dir (str): The grid's work folder.
        max_iters (int): The run's training iterations (to know a finished
            training from a killed one).
        gpus (int): Processes per run (GPUs; CPU processes without CUDA).
            Defaults to 1.
        launcher (str): ``--launcher`` of a single-process run. Defaults to
            'none'.
        log (callable): Progress messages. Defaults to print.

    Returns:
        dict: The run's ``result.json``: variant, seed, config, options,
        metrics (mIoU, mDice, aAcc), checkpoint and wall time.

    Raises:
        RunFailed: If training or testing fails (the log file is named).
    """
    folder = run_dir(work_dir, variant.name, seed)
    result_file = osp.join(folder, RESULT_FILE)
    if osp.isfile(result_file):
        with open(result_file) as f:
            return json.load(f)
    os.makedirs(folder, exist_ok=True)
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env.setdefault('PORT', str(29500 + (os.getpid() % 1000)))
    options = run_options(variant, seed)
    log_file = osp.join(folder, 'ablation.log')
    start = time.time()
    checkpoint = final_checkpoint(folder)
    finished = checkpoint is not None and osp.basename(checkpoint) == \
        f'iter_{max_iters}.pth'
    if not finished:
        resume = checkpoint is not None
        log(f'[ablation] {variant.name} seed {seed}: '
            f'{"resuming" if resume else "training"}')
        _run(
            train_command(variant, options, folder, gpus, launcher, resume),
            log_file, env)
        checkpoint = final_checkpoint(folder)
        if checkpoint is None:
            raise RunFailed(f'training wrote no checkpoint in {folder}; see '
                            f'{log_file}')
    log(f'[ablation] {variant.name} seed {seed}: testing {checkpoint}')
    test_dir = osp.join(folder, 'test')
    _run([
        sys.executable,
        repo_path('tools/test.py'),
        repo_path(variant.config), checkpoint, '--eval', 'mIoU', 'mDice',
        '--work-dir', test_dir, '--cfg-options'
    ] + _format_options(variant.cfg_options), log_file, env)
    result = dict(
        variant=variant.name,
        seed=seed,
        config=variant.config,
        cfg_options=options,
        metrics=_latest_metrics(test_dir),
        checkpoint=osp.relpath(checkpoint, folder),
        wall_s=round(time.time() - start, 1))
    tmp = result_file + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, result_file)
    return result


def run_grid(grid: AblationGrid,
             work_dir: str,
             seeds: Optional[int] = None,
             variants: Optional[Sequence[str]] = None,
             gpus: int = 1,
             launcher: str = 'none',
             log: Callable[[str], None] = print) -> List[Dict[str, Any]]:
    """Run every (variant, seed) of a grid that has no result yet.

    Seeds go in the outer loop, so that a grid stopped early has the same
    seeds for every variant it reached.

    Args:
        grid (AblationGrid): The grid.
        work_dir (str): Its work folder.
        seeds (int, optional): Run seeds 0..seeds-1 of every variant instead
            of each variant's own count. Defaults to None.
        variants (Sequence[str], optional): Only these variants. Defaults to
            None (all).
        gpus (int): Processes per run. Defaults to 1.
        launcher (str): ``--launcher`` of single-process runs. Defaults to
            'none'.
        log (callable): Progress messages. Defaults to print.

    Returns:
        list[dict]: The results of the runs of this call's selection.
    """
    from mmengine.config import Config

    chosen = [grid.variant(name) for name in variants] if variants else \
        grid.variants
    results = []
    top = max(seeds or v.seeds for v in chosen)
    for seed in range(top):
        for variant in chosen:
            if seed >= (seeds or variant.seeds):
                continue
            cfg = Config.fromfile(repo_path(variant.config))
            cfg.merge_from_dict(dict(variant.cfg_options))
            results.append(
                run_one(variant, seed, work_dir, int(cfg.train_cfg.max_iters),
                        gpus, launcher, log))
    return results


def collect_results(work_dir: str) -> List[Dict[str, Any]]:
    """Every ``result.json`` under a grid's work folder."""
    results = []
    for root, _, files in sorted(os.walk(work_dir)):
        if RESULT_FILE in files:
            with open(osp.join(root, RESULT_FILE)) as f:
                results.append(json.load(f))
    return sorted(results, key=lambda r: (r['variant'], r['seed']))
