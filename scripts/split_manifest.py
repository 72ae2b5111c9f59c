"""Split a manifest by the value of one column: ``split_manifest.py test.tsv kind`` writes
``test.isolated.tsv`` and ``test.joined.tsv`` beside it (used by the training recipes to score
sub-sets separately)."""
import sys
from collections import defaultdict
from pathlib import Path

from data_prep.manifest import scan_manifest, write_manifest

manifest, column = Path(sys.argv[1]), sys.argv[2]
entries, _ = scan_manifest(manifest, check_files=False)
groups = defaultdict(list)
for entry in entries:
    groups[entry.extra.get(column, "")].append({"path": entry.path, "text": entry.text, **entry.extra})
for value, rows in sorted(groups.items()):
    out = manifest.with_name(f"{manifest.stem}.{value}{manifest.suffix}")
    write_manifest(out, rows)
    print(f"{out}: {len(rows)} rows")
