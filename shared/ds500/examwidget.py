"""The practice exam as the real one is answered: one question at a time, with a clock.

Why: typing sixty ids into a dict trains nothing the exam asks for; choosing under time
pressure, marking doubtful questions and coming back does. This module shows a drawn mock
(:func:`ds500.practice.draw`) with ``ipywidgets``: radio buttons for single choice, check
boxes limited to N for multiple select ("Choose two"), a mark-for-review box, a palette of
question numbers (answered and marked ones coloured), a countdown (two minutes per question:
two hours for sixty) and a Submit button. Submitting scores the exam all-or-nothing per
multiple-select question, shows the score per section, the review of every answered option
and the labs and documentation pages to revisit per weak section; with a progress store it
remembers the questions as seen and their misses for the drill.

It works with ipywidgets 7.7.1 (Colab) and 8.x (JupyterLab 4): it only uses widgets and
traits both have, and the clock is a kernel thread that updates a label and a progress bar.
A question's options and mark box are built when it is first shown, and the palette's buttons
share one layout: built up front, sixty questions made 775 widget models, each a message the
browser must process before the exam shows and a chance for the cold-start race of
jupyter-widgets/ipywidgets#4026 in JupyterLab; now the exam shows with 160.
Without a front end (papermill, nbval, the grader) nothing is rendered and the
dict-of-letters path of :func:`ds500.practice.check` stays the way to answer.

Example::

    from ds500 import examwidget, practice
    exam = practice.draw(seed=7)
    mock = examwidget.MockExam(exam)
    mock            # in a notebook: the exam; click Start
    mock.answers()  # {question id: "B" or ["A", "C"]}, what was chosen so far
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ds500 import practice, quiz
from ds500.progress import Progress

__all__ = ["MockExam"]

_STYLE = """<style>
.ds500-mock .widget-radio-box label, .ds500-mock .widget-checkbox label,
.ds500-mock .widget-checkbox .widget-label-basic {white-space: normal; height: auto; overflow: visible;}
.ds500-mock .widget-radio-box label {margin-bottom: 6px;}
.ds500-mock .widget-radio-box, .ds500-mock .widget-checkbox {width: 100%; height: auto;}
.ds500-mock .ds500-mock-current {outline: 2px solid black;}
</style>"""


class MockExam:
    """A drawn practice exam as widgets (see the module docstring).

    Attributes:
        exam: the questions, in the order shown.
        version: the guide version whose sections score the exam.
        submitted: whether the exam was submitted (then the answers are frozen).
        result: the :class:`ds500.quiz.QuizResult` after submitting, else None.
    """

    def __init__(
        self,
        exam: Sequence[quiz.Question],
        *,
        version: str = practice.MOCK_VERSION,
        progress: Progress | None = None,
        minutes: float | None = None,
        target: float = 70.0,
    ) -> None:
        """Build the widgets.

        Args:
            exam: the drawn questions (:func:`ds500.practice.draw`).
            version: the guide version for the per-section score.
            progress: a store to remember seen questions and misses in; None remembers nothing.
            minutes: the time allowed; by default two minutes per question.
            target: the per-section percentage under which the study plan lists a section.

        Raises:
            ValueError: an empty exam, or minutes that are not positive.
        """
        if not exam:
            raise ValueError("the exam has no questions: draw one with practice.draw()")
        minutes = practice.MINUTES_PER_QUESTION * len(exam) if minutes is None else minutes
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
            raise ValueError(f"minutes must be a positive number, got {minutes!r}")
        self.exam = list(exam)
        self.version = version
        self.progress = progress
        self.target = target
        self.submitted = False
        self.result: quiz.QuizResult | None = None
        self._current = 0
        self._seconds = int(round(minutes * 60))
        self._frozen = False  # answers locked (time up or submitted)
        # Built on a question's first visit (see the module docstring): None until then.
        self._choices: list[widgets.Widget | None] = [None] * len(self.exam)
        self._marks: list[widgets.Checkbox | None] = [None] * len(self.exam)
        self._build()

    # -- widgets -----------------------------------------------------------------------

    def _question(self, index: int) -> tuple[widgets.Widget, widgets.Checkbox]:
        """The options and the mark box of question ``index``, built on the first call."""
        choice, mark = self._choices[index], self._marks[index]
        if choice is None or mark is None:
            choice = self._choices[index] = self._choice_widget(self.exam[index])
            mark = self._marks[index] = widgets.Checkbox(value=False, description="Mark for review",
                                                         indent=False)
            mark.add_class("ds500-mock-mark")
            mark.observe(lambda _change: self._refresh_palette(), names="value")
            if self._frozen:  # shown after the answers were locked: locked too
                self._disable([choice, mark])
        return choice, mark

    def _choice_widget(self, q: quiz.Question) -> widgets.Widget:
        if q.kind == "single":
            radio = widgets.RadioButtons(
                options=[(f"{o.key}. {o.text}", o.key) for o in q.options], index=None,
                layout=widgets.Layout(width="100%"),
            )
            radio.add_class("ds500-mock-option")
            radio.observe(lambda _change: self._refresh_palette(), names="value")
            return radio
        boxes = [widgets.Checkbox(value=False, description=f"{o.key}. {o.text}", indent=False,
                                  layout=widgets.Layout(width="100%")) for o in q.options]
        for box in boxes:
            box.add_class("ds500-mock-option")
            box.observe(self._limit(boxes, len(q.correct_keys)), names="value")
        return widgets.VBox(boxes)

    def _limit(self, boxes: list[widgets.Checkbox], n: int) -> Any:
        """An observer that refuses an (n+1)-th ticked box, as the exam's "Choose n" does."""

        def observe(change: dict[str, Any]) -> None:
            if change["new"] and sum(b.value for b in boxes) > n:
                change["owner"].value = False
                self._notice.value = f"<b>Choose {n}:</b> untick an option before ticking another."
            else:
                self._notice.value = ""
            self._refresh_palette()

        return observe

    def _build(self) -> None:
        n = len(self.exam)
        self._clock = widgets.Label(value=self._clock_text(0))
        self._bar = widgets.IntProgress(value=0, min=0, max=self._seconds,
                                        layout=widgets.Layout(width="240px"))
        self._stop_clock = threading.Event()
        self._start = self._button("Start the exam", "ds500-mock-start", "primary", lambda _b: self.start())
        self._prev = self._button("◀ Previous", "ds500-mock-prev", "", lambda _b: self.go(self._current - 1))
        self._next = self._button("Next ▶", "ds500-mock-next", "", lambda _b: self.go(self._current + 1))
        self._submit = self._button("Submit exam", "ds500-mock-submit", "danger", lambda _b: self.submit())
        goto_layout = widgets.Layout(width="42px")  # one model for all the buttons
        self._palette = [self._button(str(i + 1), "ds500-mock-goto", "", self._goto(i), layout=goto_layout)
                         for i in range(n)]
        self._notice = widgets.HTML(value="")
        self._stage = widgets.VBox([widgets.HTML(
            value=f"<p>{n} questions, {self._seconds // 60} minutes. Questions are numbered 1 to {n}; "
                  "their ids and exam-guide sections appear in the review after you submit.</p>"
        )])
        self._review = widgets.Output()
        header = widgets.HBox([widgets.HTML(value=f"{_STYLE}<b>Practice exam</b>&nbsp;"), self._clock,
                               self._bar])
        self._nav = widgets.HBox([self._prev, self._next, self._submit])
        self._nav.layout.display = "none"
        grid = widgets.HBox(self._palette, layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([header, self._start, self._stage, self._notice, self._nav, grid,
                                    self._review])
        self.widget.add_class("ds500-mock")

    @staticmethod
    def _button(text: str, css: str, style: str, on_click: Any,
                layout: widgets.Layout | None = None) -> widgets.Button:
        button = widgets.Button(description=text, button_style=style, layout=layout or widgets.Layout())
        button.add_class(css)
        button.on_click(on_click)
        return button

    def _goto(self, index: int) -> Any:
        return lambda _button: self.go(index)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- behaviour ---------------------------------------------------------------------

    def _clock_text(self, elapsed: int) -> str:
        left = max(self._seconds - elapsed, 0)
        return f"{left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d} left"

    def _tick(self, elapsed: int) -> None:
        """Show the time left; at zero, lock the answers (Submit then scores what was given)."""
        self._clock.value = self._clock_text(elapsed)
        self._bar.value = min(elapsed, self._seconds)
        if elapsed >= self._seconds and not self.submitted:
            self._stop_clock.set()
            self._freeze(keep_submit=True)
            self._notice.value = "<b>Time is up.</b> Your answers are locked: click <b>Submit exam</b>."

    def _run_clock(self) -> None:
        # A kernel thread, not the Play widget: ipywidgets 7.7.1 (Colab) starts Play only from its
        # own button, and a thread keeps counting while the notebook runs other cells.
        started = time.monotonic()
        while not self._stop_clock.wait(1.0):
            self._tick(int(time.monotonic() - started))

    def _freeze(self, *, keep_submit: bool = False) -> None:
        """Lock the answers (and Submit unless ``keep_submit``); questions shown later come locked."""
        self._frozen = True
        built = [w for w in (*self._choices, *self._marks) if w is not None]
        self._disable([*built, self._prev, self._next, self._start, *([] if keep_submit else [self._submit])])

    @staticmethod
    def _disable(parts: list[widgets.Widget]) -> None:
        for widget in parts:
            for part in getattr(widget, "children", ()) or (widget,):
                part.disabled = True

    def start(self, *, clock: bool = True) -> None:
        """Show the first question and start the clock (``clock=False``: no clock, for scripts and tests)."""
        self._start.layout.display = "none"
        self._nav.layout.display = ""
        if clock:
            threading.Thread(target=self._run_clock, name="ds500-mock-clock", daemon=True).start()
        self.go(0)

    def go(self, index: int) -> None:
        """Show question ``index`` (0-based; clamped to the exam)."""
        self._current = min(max(index, 0), len(self.exam) - 1)
        q = self.exam[self._current]
        count = "one" if q.kind == "single" else ["", "", "two", "three", "four", "five"][len(q.correct_keys)]
        stem = html.escape(q.question).replace("\n", "<br>")
        head = widgets.HTML(value=f"<h4>Question {self._current + 1} of {len(self.exam)} "
                                  f"(choose {count})</h4><p>{stem}</p>")
        self._stage.children = [head, *self._question(self._current)]
        self._prev.disabled = self._current == 0
        self._next.disabled = self._current == len(self.exam) - 1
        self._notice.value = ""
        self._refresh_palette()

    def _chosen(self, index: int) -> str | list[str] | None:
        widget = self._choices[index]
        if widget is None:  # never shown
            return None
        if isinstance(widget, widgets.RadioButtons):
            return widget.value
        keys = [key for key, box in zip(self.exam[index].keys, widget.children, strict=True) if box.value]
        return keys or None

    def _refresh_palette(self) -> None:
        for i, button in enumerate(self._palette):
            mark = self._marks[i]
            marked, answered = mark is not None and mark.value, self._chosen(i) is not None
            button.button_style = "warning" if marked else ("info" if answered else "")
            button.description = f"{i + 1}{'⚑' if marked else ''}"
            if i == self._current:
                button.add_class("ds500-mock-current")
            else:
                button.remove_class("ds500-mock-current")

    def answers(self) -> dict[str, str | list[str]]:
        """What was chosen so far: question id -> key (single) or keys (multiple)."""
        return {q.id: chosen for i, q in enumerate(self.exam) if (chosen := self._chosen(i)) is not None}

    def marked(self) -> list[int]:
        """The numbers (1-based, as shown) of the questions marked for review."""
        return [i + 1 for i, mark in enumerate(self._marks) if mark is not None and mark.value]

    def submit(self) -> quiz.QuizResult:
        """Score the exam, freeze the answers and show the score per section, the review and a study plan.

        A second call returns the same result without recording anything again.
        """
        if self.result is not None:
            return self.result
        self.submitted = True
        self._stop_clock.set()
        self._freeze()
        with self._review:
            self.result = practice.check(self.exam, self.answers(), progress=self.progress)
            scores = practice.section_scores(self.exam, self.result, self.version)
            from IPython.display import display

            display(scores[["title", "weight", "asked", "correct", "percent"]].round(1))
            practice.show_study_plan(practice.study_plan(self.exam, self.result, self.version,
                                                         pass_mark=self.target))
        return self.result
