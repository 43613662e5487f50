"""tools/deployment/pytorch2onnx.py: the front end, on the tiny SegFormer."""
import json
import os.path as osp

import pytest

from tool_loader import load_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO_ROOT,
                       'tests/data/configs/segformer_tiny_synthetic.py')

export = load_tool('tools/deployment/pytorch2onnx.py')
infer = load_tool('tools/infer.py')


def test_export_and_verify_on_a_test_image(tool_env, monkeypatch, tmp_path,
                                           capsys):
    monkeypatch.setenv('SYNTHETIC_CITYSCAPES_ROOT',
                       tool_env['SYNTHETIC_CITYSCAPES_ROOT'])
    out = tmp_path / 'tiny.onnx'
    # 128x256: what the tiny config's test pipeline gives for test images.
    meta = export.main([
        TINY_CONFIG, '--shape', '128', '256', '--output-file',
        str(out), '--verify'
    ])
    printed = capsys.readouterr().out
    assert 'verified on' in printed and out.is_file()
    assert meta['verify']['image'].endswith('_leftImg8bit.png')
    assert meta['verify']['relative_error'] <= 1e-4
    saved = json.loads((tmp_path / 'tiny.json').read_text())
    assert saved['shape'] == [128, 256] and saved['opset'] == 18

    # tools/infer.py runs it: the .onnx in the checkpoint's place.
    image = meta['verify']['image']
    infer.main([
        TINY_CONFIG,
        str(out), image, '--out',
        str(tmp_path / 'seg'), '--backend', 'onnxruntime'
    ])
    stem = osp.splitext(osp.basename(image))[0]
    assert (tmp_path / 'seg' / 'labels' / f'{stem}_trainIds.png').is_file()
    assert (tmp_path / 'seg' / 'overlays' / f'{stem}_overlay.png').is_file()


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(SystemExit, match='checkpoint file .*nope.pth'):
        export.main([
            TINY_CONFIG, '--checkpoint',
            str(tmp_path / 'nope.pth'), '--output-file',
            str(tmp_path / 'x.onnx')
        ])


def test_test_onnx_gives_the_miou_of_tools_test(tool_env, monkeypatch,
                                                tmp_path):
    """The same weights: tools/test.py on the checkpoint and
    tools/deployment/test_onnx.py on its export agree within 0.01 mIoU."""
    import subprocess
    import sys

    import torch

    from mmseg_contrafusion.analysis.eval_metrics import load_test_metrics
    from mmseg_contrafusion.deployment.onnx_export import build_segmentor

    monkeypatch.setenv('SYNTHETIC_CITYSCAPES_ROOT',
                       tool_env['SYNTHETIC_CITYSCAPES_ROOT'])
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': build_segmentor(TINY_CONFIG).state_dict()}, ckpt)
    run = subprocess.run([
        sys.executable, 'tools/test.py', TINY_CONFIG, ckpt, '--eval', 'mIoU',
        'mDice', '--work-dir',
        str(tmp_path / 'pt')
    ],
                         cwd=REPO_ROOT,
                         env=tool_env,
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    expected = load_test_metrics(str(tmp_path / 'pt'))
    onnx_file = str(tmp_path / 'tiny.onnx')
    export.main([
        TINY_CONFIG, '--checkpoint', ckpt, '--shape', '128', '256',
        '--output-file', onnx_file
    ])
    test_onnx = load_tool('tools/deployment/test_onnx.py')
    got = test_onnx.main([
        TINY_CONFIG, onnx_file, '--eval', 'mIoU', 'mDice', '--out',
        str(tmp_path / 'ort.json')
    ])
    for key in ('mIoU', 'mDice', 'aAcc'):
        assert abs(got[key] - expected[key]) <= 0.01, key
