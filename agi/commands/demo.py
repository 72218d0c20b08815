"""`callticket demo`: one complete pizzeria call on the embedded defaults.

With speech available (espeak-ng and the bundled Whisper model), the caller's
turns are spoken, sent through 8 kHz µ-law, VAD and speech-to-text exactly as
on a phone line; `--text` skips the audio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import datetime
from pathlib import Path

from agi.commands.simulate import print_transcript
from agi.playbook import load_playbook
from agi.pos_binding import data_dir_from, local_committer
from agi.simulate import Script, ScriptCaller, run_script

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "pizzeria.yaml"

DEMO_SCRIPT = Script(
    caller=ScriptCaller(number="+15551234567", language="en"),
    say=[
        "Hi, can I get two large pepperoni pizzas and a caesar salad?",
        "Actually make that three pizzas.",
        "How much is the garlic knots?",
        "Add the garlic knots too. That's all.",
        "No thanks.",
        "Pickup at seven thirty, my name is Maria.",
        "Yes, that's the best number.",
        "Yes, please place it.",
    ],
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="run one complete demo call on the embedded defaults")
    p.add_argument("--text", action="store_true", help="text only: no speech synthesis or recognition")
    p.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temporary directory")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_playbook(PLAYBOOK)
    data_dir = data_dir_from(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="callticket-demo-"))
    committer = local_committer(loaded, data_dir)
    # A weekday evening, inside opening hours, so the demo never meets "closed".
    script = DEMO_SCRIPT.model_copy(update={"at": datetime(2026, 11, 20, 18, 0)})
    if args.text or not _speech_available():
        result = run_script(loaded, script, committer)
    else:
        from agi.simulate_audio import run_audio

        result = run_audio(loaded, script, committer)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"Demo call to {loaded.playbook.business.name} (local POS in {data_dir})\n")
        print_transcript(result)
    return 0 if result["outcome"] == "committed" else 1


def _speech_available() -> bool:
    try:
        import agi.simulate_audio  # noqa: F401
    except ImportError:
        return False
    return True
