"""mmseg_contrafusion.analysis.report.checks: verdicts."""
from mmseg_contrafusion.analysis.report.checks import make_check
from mmseg_contrafusion.analysis.report.markdown import format_checks


def test_verdicts():
    assert make_check('a', 1.0, '<=', 1.1)['status'] == 'PASS'
    assert make_check('a', 1.2, '<=', 1.1)['status'] == 'MISS'
    assert make_check('a', 3.0, '>=', 2.0)['passed'] is True
    assert make_check('a', 0, '==', 0)['status'] == 'PASS'
    assert make_check('a', 1.0, '', None)['status'] == 'INFO'
    missing = make_check('a', None, '<=', 1.0)
    assert missing['status'] == '-' and missing['passed'] is None
    table = format_checks(
        dict(checks=[
            make_check('time', 1.0, '<=', 1.1, ratios=dict(min=1.0, wall=1.2)),
            make_check('calls', 0, '==', 0)
        ]))
    assert '| time | 1.00 | 1.20 |  | <= 1.1 | PASS |' in table
    assert '| calls | 0 |  |  | == 0 | PASS |' in table
