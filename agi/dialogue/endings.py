"""How a call ends: a commit checked against what was said, a transfer, a refusal,
or a question asked again until the caller is handed to a person."""

from __future__ import annotations

from datetime import datetime

from agi.dialogue import policy
from agi.dialogue import prompts as P
from agi.dialogue.invariant import Said, check_commit
from agi.dialogue.replies import Action, ActionKind, Reply
from agi.tickets import TicketKind


class EndingsMixin:
    """Part of DialogueEngine: the replies that end the call or count against it."""

    def committed(self, order_ref: str | None) -> Reply:
        lang = self.state.language
        ref = ""
        if order_ref:
            short = order_ref[-4:].upper()
            ref = {"en": f", order number {short}", "es": f", número {short}", "zh": f"，订单号{short}"}[lang]
        key = "committed" if self.pb.ticket.kind is TicketKind.ORDER else "committed_booking"
        when = ""
        ftime = self.state.slots.get("time")
        if isinstance(ftime, datetime) and key == "committed":
            when = {
                "en": f"It will be ready at {P.clock(ftime.hour, ftime.minute, 'en')}. ",
                "es": f"Estará listo a las {P.clock(ftime.hour, ftime.minute, 'es')}. ",
                "zh": f"{P.clock(ftime.hour, ftime.minute, 'zh')}可以取餐。",
            }[lang]
        self.finished = True
        text = P.say(key, lang, ref=ref, business=self.pb.business.name, when=when)
        return Reply(text, Action(ActionKind.HANGUP, "committed"))

    def commit_failed(self, reason: str) -> Reply:
        return self._transfer(f"POS failure: {reason}", None, "commit_failed")

    def _commit(self) -> Reply:
        ticket = self._priced()
        said = Said(tuple(self.state.heard), self.caller, self.now.date())
        types = {s.id: s.type for s in self.pb.ticket.slots}
        problems = check_commit(ticket, self.state.read_back, said, self.catalog, types)
        if problems:
            # A ticket that is not what the caller said is a bug: a person takes the call.
            return self._transfer("commit check failed: " + "; ".join(map(str, problems)), None, "transfer_escalate")
        self.state.asking = None
        return Reply("", Action(ActionKind.COMMIT, "caller confirmed", ticket=ticket))

    def _large_order(self) -> Reply | None:
        limit = self.pb.escalation.large_order_minor
        if limit is None:
            return None
        ticket = self.ticket()
        if not ticket.items:
            return None
        total = ticket.total_minor
        if total > limit:
            return self._transfer(f"large order: {total} > {limit}", None, "transfer_escalate")
        return None

    def _transfer(self, reason: str, target: str | None, prompt: str) -> Reply:
        self.finished = True
        return Reply(
            P.say(prompt, self.state.language), Action(ActionKind.TRANSFER, reason, target or self.pb.escalation.default_target)
        )

    def _refuse(self, reason: str, prompt: str = "refuse") -> Reply:
        self.finished = True
        return Reply(P.say(prompt, self.state.language), Action(ActionKind.REFUSE, reason))

    def _decide(self, decision: policy.Decision) -> Reply:
        if decision.action == "refuse":
            return self._refuse(decision.reason)
        return self._transfer(decision.reason, decision.target, decision.prompt)

    def _confirm_again(self) -> Reply:
        """No key press yet: ask again; after as many tries as a misunderstanding gets, a person decides."""
        st = self.state
        st.misunderstandings += 1
        if st.misunderstandings >= self.pb.escalation.max_misunderstandings:
            reason = st.pending.rule_id if st.pending is not None else "repeat hang-ups"
            return self._transfer(f"{reason}; no key press, staff to confirm", None, "transfer_escalate")
        return Reply(P.say("confirm_caller", st.language), hints=self._hints(), understood=False)

    def _not_understood(self) -> Reply:
        st = self.state
        st.misunderstandings += 1
        if st.misunderstandings >= self.pb.escalation.max_misunderstandings:
            return self._transfer("repeated misunderstanding", None, "transfer_escalate")
        return Reply(
            P.say("not_understood", st.language, again=self._question_text()), hints=self._hints(), understood=False
        )
