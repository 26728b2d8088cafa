"""tools/build_status.py reads back what tools/build_book.py writes after a complete build, and refuses a record
filed under the other kind of build."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from build_status import read_build_status  # noqa: E402


def test_read_build_status(tmp_path):
    assert read_build_status(tmp_path) == {"quick": None, "full": None}
    rec = {"quick": True, "seconds": 12.5, "jobs": 2, "complete": True,
           "notebooks": [{"notebook": "chapters/a.ipynb", "seconds": 7.0, "ok": True, "parameters": {}},
                         {"notebook": "chapters/b.ipynb", "seconds": 5.5, "ok": False, "parameters": {}}]}
    (tmp_path / "status-quick.json").write_text(json.dumps(rec))
    st_ = read_build_status(tmp_path)
    assert st_["full"] is None
    assert st_["quick"]["seconds"] == 12.5 and st_["quick"]["ok"] is False and st_["quick"]["jobs"] == 2
    assert [r["seconds"] for r in st_["quick"]["notebooks"]] == [7.0, 5.5]
    assert st_["quick"]["path"] == str(tmp_path / "status-quick.json")
    (tmp_path / "status-full.json").write_text(json.dumps(rec))  # a quick record under the full name
    with pytest.raises(ValueError, match="quick"):
        read_build_status(tmp_path)
