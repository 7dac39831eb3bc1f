"""Per-module summary of mutation runs (tools/dev/mutation_test.sh).

Reads each module's ``.mutation/<module>/`` (mutmut's counts, its list of
mutants not killed, the run time) and docs/testing.md, whose section
"Equivalent mutants" names the equivalent mutants and whose other sections
may name known survivors; prints the survivors nobody has looked at yet and
one table row a module.
"""
import argparse
import configparser
import json
import re
from pathlib import Path

EQUIVALENT_SECTION = '## Equivalent mutants'
#: "### ... `yolo_plugin/path/module.py`": the module of the rows below.
MODULE_HEADING = re.compile(r'^### .*`(yolo_plugin/[\w/]+)\.py`')
#: "| `function` | 3, 14 | ...": mutmut's function name, mutant numbers.
MUTANT_ROW = re.compile(r'^\| `(x[_ǁ][\wǁ]*)` \| ([\d, ]+) \|')
#: Columns of the table of docs/testing.md's "Results"; ``killed`` counts
#: timeouts too, ``surviving`` every other mutant not listed as equivalent
#: (survived, no tests, suspicious, ...).
COLUMNS = ('module', 'mutants', 'killed', 'equivalent', 'surviving', 'kill rate', 'seconds')


def mutated_module(run_dir: Path) -> str:
    """Dotted name of the module mutated in ``run_dir``."""
    config = configparser.ConfigParser()
    config.read(run_dir / 'setup.cfg')
    return config['mutmut']['only_mutate'].removesuffix('.py').replace('/', '.')


def not_killed(run_dir: Path) -> dict:
    """Mutant name -> status (survived, no tests, timeout, ...)."""
    statuses = {}
    for line in (run_dir / 'not_killed.txt').read_text().splitlines():
        name, _, status = line.strip().rpartition(': ')
        if name:
            statuses[name] = status
    return statuses


def documented_mutants(document: Path) -> tuple:
    """Mutant names of the rows of the equivalent section, and of the rows
    of the other sections (known survivors)."""
    equivalent, known = set(), set()
    section = module = ''
    for line in (document.read_text() if document.exists() else '').splitlines():
        if line.startswith('## '):
            section, module = line.strip(), ''
        heading = MODULE_HEADING.match(line)
        if heading:
            module = heading.group(1).replace('/', '.')
        row = MUTANT_ROW.match(line)
        if row and module:
            numbers = row.group(2).replace(',', ' ').split()
            names = {f'{module}.{row.group(1)}__mutmut_{n}' for n in numbers}
            (equivalent if section == EQUIVALENT_SECTION else known).update(names)
    return equivalent, known


def summarise(run_dir: Path, equivalents: set, known: set) -> dict:
    """Counts of one module; prints its survivors the document lacks."""
    module = mutated_module(run_dir) + '.'
    counts = json.loads((run_dir / 'mutants' / 'mutmut-cicd-stats.json').read_text())
    statuses = not_killed(run_dir)
    listed = {name for name in equivalents if name.startswith(module)}
    equivalent = {name for name, status in statuses.items()
                  if name in listed and status in ('survived', 'no tests')}
    for name, status in sorted(statuses.items()):
        if name not in equivalent | known and status != 'timeout':
            print(f'  {status}: {name}')
    for name in sorted(listed - equivalent):
        print(f'  listed as equivalent but killed or gone: {name}')
    killed = counts['killed'] + counts['timeout']
    non_equivalent = counts['total'] - len(equivalent)
    return {
        'module': f'`{run_dir.name}`',
        'mutants': counts['total'],
        'killed': killed,
        'equivalent': len(equivalent),
        'surviving': non_equivalent - killed,
        'kill rate': f'{100 * killed / non_equivalent:.1f} %' if non_equivalent else '-',
        'seconds': (run_dir / 'seconds').read_text().strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('run_dirs', nargs='+', type=Path)
    parser.add_argument('--document', type=Path, required=True,
                        help='document naming equivalent mutants and known survivors')
    args = parser.parse_args()
    equivalents, known = documented_mutants(args.document)
    rows = []
    for run_dir in args.run_dirs:
        print(f'{run_dir.name}: survivors not in {args.document.name}')
        rows.append(summarise(run_dir, equivalents, known))
    print('\nkill rate: killed (timeouts included) / (mutants - equivalent)\n')
    print('| ' + ' | '.join(COLUMNS) + ' |')
    print('|' + ' --- |' * len(COLUMNS))
    for row in rows:
        print('| ' + ' | '.join(str(row[column]) for column in COLUMNS) + ' |')


if __name__ == '__main__':
    main()
