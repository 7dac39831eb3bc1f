"""tools/analyze_logs.py plot_curve, run as a script."""
import json
import runpy
import sys

import pytest


def run_tool(monkeypatch, *argv):
    monkeypatch.setattr(sys, 'argv', ['tools/analyze_logs.py', *argv])
    runpy.run_path('tools/analyze_logs.py', run_name='__main__')


def test_plot_curve_command(tmp_path, monkeypatch, capsys):
    run = tmp_path / 'work' / '20240101_000000' / 'vis_data'
    run.mkdir(parents=True)
    lines = [dict(loss_cls=1.0, loss_obj=2.0, iter=i, epoch=1, step=i) for i in (5, 10)]
    lines.append({'kitti/mAP_moderate': 30.0, 'step': 1})
    (run / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in lines))
    out = tmp_path / 'curve.png'
    run_tool(monkeypatch, 'plot_curve', str(tmp_path / 'work'), '--keys', 'loss_cls', 'loss_obj',
             'kitti/mAP_moderate', '--out', str(out))
    assert out.stat().st_size > 0 and 'curves written' in capsys.readouterr().out
    with pytest.raises(KeyError, match="no key 'loss_box'"):
        run_tool(monkeypatch, 'plot_curve', str(run / 'scalars.json'), '--keys', 'loss_box',
                 '--out', str(out))
    with pytest.raises(SystemExit):
        run_tool(monkeypatch, 'plot_curve', str(run / 'scalars.json'))  # --out is required
