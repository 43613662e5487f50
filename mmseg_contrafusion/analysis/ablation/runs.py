"""Training and testing the runs of a grid, resumably.

Each run (variant, seed) goes through the project's own tools, as a user
would run them: ``tools/train.py`` (``tools/dist_train.sh`` for more than
one process) and then ``tools/test.py --eval mIoU mDice`` on the last
checkpoint: the same Runner, configs and ``IoUMetric``. A run's folder is
``<work_dir>/<variant>/seed<k>/``; its ``result.json`` is written last, so

* a run with a ``result.json`` is finished and skipped;
* a run killed while training (a ``last_checkpoint`` but no
  ``result.json``) resumes with ``--resume``;
* a run killed while testing tests its final checkpoint again;
* a run folder made with other options (``run.json``, written when the run
  starts, or the ``result.json``) is refused, not reused: a grid whose
  schedule changed needs another ``--work-dir``.

The options travel as ``--cfg-options``, parsed by mmengine's
``DictAction``: numbers, booleans, None, strings without spaces or commas,
and lists of those (:func:`check_option_values`).
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
from ..eval_metrics import load_test_metrics
from .grid import AblationGrid, GridError, Variant

#: The metrics every run reports (``tools/test.py --eval``; aAcc always).
METRICS = ('mIoU', 'mDice', 'aAcc')
RESULT_FILE = 'result.json'
SPEC_FILE = 'run.json'


class RunFailed(RuntimeError):
    """A training or test process of a run exited with an error, or a run
    folder holds another run."""


def check_option_values(options: Dict[str, Any], where: str) -> None:
    """Refuse override values that ``--cfg-options`` would mangle.

    Args:
        options (dict): Dotted keys -> values.
        where (str): The grid and variant, for the message.

    Raises:
        GridError: For a dict, or a string with a space, comma, quote or
            bracket (mmengine's ``DictAction`` strips or splits them).
    """

    def bad(value: Any) -> bool:
        if isinstance(value, dict):
            return True
        if isinstance(value, str):
            return any(c in value for c in ' ,\'"[]()')
        if isinstance(value, (list, tuple)):
            return any(bad(v) or isinstance(v, (list, tuple)) for v in value)
        return False

    for key, value in options.items():
        if bad(value):
            raise GridError(
                f'{where}: {key}={value!r} cannot pass through --cfg-options '
                '(no dicts, nested lists, or strings with spaces, commas, '
                'quotes or brackets); give the variant its own config file '
                'instead')


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


def variant_config(variant: Variant) -> Any:
    """The variant's config with its overrides (an ``mmengine.Config``)."""
    from mmengine.config import Config

    cfg = Config.fromfile(repo_path(variant.config))
    cfg.merge_from_dict(dict(variant.cfg_options))
    return cfg


def run_options(variant: Variant, seed: int) -> Dict[str, Any]:
    """Every ``--cfg-options`` of one run: the variant's and the seeds.

    Args:
        variant (Variant): The model.
        seed (int): The run's seed.

    Returns:
        dict: Dotted keys -> values: the variant's overrides,
        ``randomness.seed`` and the losses' ``seed`` (:func:`seed_options`).
    """
    return {
        **variant.cfg_options, 'randomness.seed': seed,
        **seed_options(variant_config(variant).model.to_dict(), seed)
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


def _read_json(path: str) -> Optional[Dict[str, Any]]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _write_json(data: Dict[str, Any], path: str) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def _check_same_run(recorded: Optional[Dict[str, Any]], options: Dict[str,
                                                                      Any],
                    variant: Variant, folder: str) -> None:
    """Refuse a folder whose run had other options or another config."""
    if recorded is None:
        return
    # Compare as JSON: what the files hold (tuples read back as lists).
    expected = json.loads(
        json.dumps(dict(config=variant.config, cfg_options=options)))
    got = dict(
        config=recorded.get('config'),
        cfg_options=recorded.get('cfg_options') or {})
    if got != expected:
        changed = sorted(
            k for k in set(expected['cfg_options']) | set(got['cfg_options'])
            if expected['cfg_options'].get(k) != got['cfg_options'].get(k))
        raise RunFailed(
            f'{folder} holds a run of {variant.name} with other settings '
            f'({", ".join(changed) or "config"} differ): use another '
            '--work-dir for the changed grid, or delete the folder')


def _test_metrics(test_dir: str) -> Dict[str, float]:
    try:
        metrics = load_test_metrics(test_dir)
    except (FileNotFoundError, ValueError) as error:
        raise RunFailed(f'tools/test.py gave no metrics: {error}')
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
    # The tools run from the repository root: absolute paths.
    folder = osp.abspath(run_dir(work_dir, variant.name, seed))
    options = run_options(variant, seed)
    result = _read_json(osp.join(folder, RESULT_FILE))
    _check_same_run(result, options, variant, folder)
    if result is not None:
        return result
    spec_file = osp.join(folder, SPEC_FILE)
    _check_same_run(_read_json(spec_file), options, variant, folder)
    os.makedirs(folder, exist_ok=True)
    _write_json(
        dict(
            variant=variant.name,
            seed=seed,
            config=variant.config,
            cfg_options=options), spec_file)
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env.setdefault('PORT', str(29500 + (os.getpid() % 1000)))
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
    if checkpoint is None or osp.basename(checkpoint) != \
            f'iter_{max_iters}.pth':
        raise RunFailed(f'training of {folder} did not reach iteration '
                        f'{max_iters} (last checkpoint: {checkpoint}); see '
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
        metrics=_test_metrics(test_dir),
        checkpoint=osp.relpath(checkpoint, folder),
        wall_s=round(time.time() - start, 1))
    _write_json(result, osp.join(folder, RESULT_FILE))
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
    chosen = [grid.variant(name) for name in variants] if variants else \
        grid.variants
    for variant in chosen:
        check_option_values(variant.cfg_options,
                            f'{grid.path}, variant {variant.name}')
    results = []
    top = max(seeds or v.seeds for v in chosen)
    for seed in range(top):
        for variant in chosen:
            if seed >= (seeds or variant.seeds):
                continue
            max_iters = int(variant_config(variant).train_cfg.max_iters)
            results.append(
                run_one(variant, seed, work_dir, max_iters, gpus, launcher,
                        log))
    return results


def collect_results(work_dir: str) -> List[Dict[str, Any]]:
    """Every ``result.json`` under a grid's work folder."""
    results = []
    for root, _, files in sorted(os.walk(work_dir)):
        if RESULT_FILE in files:
            with open(osp.join(root, RESULT_FILE)) as f:
                results.append(json.load(f))
    return sorted(results, key=lambda r: (r['variant'], r['seed']))
