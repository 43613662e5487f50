"""One process with a batch of 2 == two processes with a batch of 1 each.

The tiny ContraFusionNet of
``tests/data/configs/contrafusionnet_tiny-gn_synthetic-64x64.py`` takes one
training step on the same two images in two ways, side by side:

- ``tools/train.py`` with ``batch_size=2`` (one process);
- ``tools/dist_train.sh ... 2`` with ``batch_size=1`` (the project's
  launcher: two CPU processes, gloo, DDP; rank 0 gets the first image and
  rank 1 the second, the sampler not shuffling).

``tests/data/record_train_step.py`` records, at the optimizer step, each
process's loss terms, its images, the parameters and the gradients (under
DDP already averaged over the two processes).

Compared:

- the images: the one-process batch is (rank 0's image, rank 1's image);
- the parameters before the step: equal (same seed, same initialisation);
- every loss term (``loss_ce``, ``loss_dice``, ``loss_contrast`` and their
  sum): the one-process value equals the mean of the two ranks' values,
  relative tolerance 1e-5;
- the gradient of every parameter: the one-process gradient equals the
  DDP-averaged gradient, relative error (L2 norm of the difference over the
  L2 norm of the gradient) below 2e-5 per tensor (measured: at most 5e-6;
  tensors whose gradient norm is below 1e-6 of the largest are compared
  with an absolute bound of 2e-5 x that largest norm instead).

What makes this hold, and so what is being tested:

- the contrastive loss samples a fixed budget of pixels **per image**,
  drawing each image's pixels from its own generator seeded by (loss seed,
  step counter, label map of the image), so an image gets the same pixels
  in a batch of 2 as alone on a process; with the global RNG (``seed=None``)
  the two set-ups draw different pixels and this test fails;
- with ``cross_image=False`` (default) its negatives are from the same
  image and it averages over images, so the batch loss is the mean of the
  per-image losses, which is what DDP's gradient averaging computes.

Held fixed so that only that is tested: GroupNorm / LayerNorm everywhere
(batch statistics of BN would differ between a batch of 2 and a batch of 1;
compat turns SyncBN into BN on CPU), no dropout or drop path, no random
transforms, images of one size (64x64) and cross-entropy averaged over all
pixels (``avg_non_ignore=False``, so the batch mean is the mean of the
per-image means; with ``avg_non_ignore=True`` it is weighted by each image's
labelled pixels), Dice being per image already. ``acc_seg`` is a metric of
the batch and is not compared.
"""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO_ROOT, 'tests/data/configs/'
    'contrafusionnet_tiny-gn_synthetic-64x64.py')
PYTHON = sys.executable
LOSS_KEYS = ('loss', 'decode.loss_ce', 'decode.loss_dice',
             'decode.loss_contrast')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def output(proc: subprocess.Popen, timeout: int = 240) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.fixture(scope='module')
def records(tmp_path_factory, synthetic_cityscapes):
    tmp = tmp_path_factory.mktemp('dist_equivalence')
    config = str(tmp / 'record_one_step.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{CONFIG!r}]\n' + '''
custom_imports = dict(
    imports=['mmseg_contrafusion', 'record_train_step'],
    allow_failed_imports=False)
optim_wrapper = dict(type='GradRecordingOptimWrapper')
custom_hooks = [dict(type='RecordTrainStepHook')]
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=False))
train_cfg = dict(max_iters=1)
default_hooks = dict(checkpoint=dict(interval=100, save_last=False))
''')
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env.pop('MMSEG_CONTRAFUSION_DISABLE_COMPAT', None)
    env.update(
        SYNTHETIC_CITYSCAPES_ROOT=synthetic_cityscapes + '/',
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONWARNINGS='ignore',
        PYTHON=PYTHON,
        PYTHONPATH=os.pathsep.join(
            p for p in (osp.join(REPO_ROOT, 'tests', 'data'), REPO_ROOT,
                        env.get('PYTHONPATH')) if p))
    common = dict(
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    one_dir, two_dir = str(tmp / 'one'), str(tmp / 'two')
    one = subprocess.Popen(
        [PYTHON, 'tools/train.py', config, '--work-dir', one_dir],
        env=dict(env, RECORD_TRAIN_STEP_DIR=one_dir + '/records'),
        **common)
    two = subprocess.Popen([
        'bash', 'tools/dist_train.sh', config, '2', '--work-dir', two_dir,
        '--cfg-options', 'train_dataloader.batch_size=1'
    ],
                           env=dict(
                               env,
                               RECORD_TRAIN_STEP_DIR=two_dir + '/records',
                               PORT=str(free_port())),
                           **common)
    one_log, two_log = output(one), output(two)
    assert one.returncode == 0, one_log[-3000:]
    assert 'Distributed training: True' in two_log, two_log[-3000:]

    def load(work_dir, rank, log):
        path = osp.join(work_dir, 'records', f'rank{rank}_iter1.pt')
        # Only the records are needed; the exit status of the launcher is
        # tested elsewhere (tests/tools/test_train_test_tools.py).
        assert osp.isfile(path), log[-3000:]
        return torch.load(path, map_location='cpu', weights_only=True)

    return dict(
        one=load(one_dir, 0, one_log),
        ranks=[load(two_dir, rank, two_log) for rank in (0, 1)])


def test_both_set_ups_train_on_the_same_two_images(records):
    one, ranks = records['one'], records['ranks']
    assert one['world_size'] == 1
    assert [r['world_size'] for r in ranks] == [2, 2]
    assert [len(r['img_paths']) for r in ranks] == [1, 1]
    assert one['img_paths'] == ranks[0]['img_paths'] + ranks[1]['img_paths']
    assert one['img_paths'][0] != one['img_paths'][1]


def test_loss_terms_match(records):
    one, ranks = records['one'], records['ranks']
    for key in LOSS_KEYS:
        mean = (ranks[0]['losses'][key] + ranks[1]['losses'][key]) / 2
        assert one['losses'][key] == pytest.approx(mean, rel=1e-5), key
    # The two images do give different contrastive losses: the match is
    # not that of two equal numbers.
    assert ranks[0]['losses']['decode.loss_contrast'] != pytest.approx(
        ranks[1]['losses']['decode.loss_contrast'], rel=1e-3)


def test_gradients_match(records):
    one, ranks = records['one'], records['ranks']
    names = sorted(one['grads'])
    assert names == sorted(ranks[0]['grads']) == sorted(ranks[1]['grads'])
    assert all(one['grads'][n] is not None for n in names)
    # The same initial weights, and DDP gave both ranks the same gradient.
    for name in names:
        assert torch.equal(one['params'][name], ranks[0]['params'][name])
        assert torch.equal(ranks[0]['grads'][name], ranks[1]['grads'][name])
    # The contrastive projection heads get a gradient (only the contrastive
    # loss reaches them), so its gradients are part of the comparison.
    heads = ('decode_head.contrast.cnn_projs.',
             'decode_head.contrast.transformer_projs.')
    proj = [n for n in names if n.startswith(heads)]
    assert proj and all(one['grads'][n].abs().sum() > 0 for n in proj)

    largest = max(float(one['grads'][n].norm()) for n in names)
    worst = {}
    for name in names:
        want, got = one['grads'][name], ranks[0]['grads'][name]
        error = float((got - want).norm())
        norm = float(want.norm())
        if norm > 1e-6 * largest:
            worst[name] = error / norm
            assert error <= 2e-5 * norm, (name, error / norm)
        else:
            assert error <= 2e-5 * largest, (name, error, largest)
    assert worst, 'no gradient was compared by relative error'
