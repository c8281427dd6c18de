"""Serving the PUCT engine with the package's UCI server (until the server drives engines).

The UCI server of minizero/uci.py builds an alpha-beta ``Searcher`` lazily; this subclass builds
the `PuctEngine` instead (same ``search``/``new_game``/``extend_time`` calls) and forwards the
engine's own options (``WeightsFile``, ``LeafBatch``). A refused option value gets an ``info
string`` with the reason and the previous network stays.
"""

from __future__ import annotations

from minizero.chessgame.puct_engine import PuctEngine
from minizero.uci import UciOption, UciServer, serve

ENGINE_OPTIONS = (
    UciOption("WeightsFile", "string", ""),
    UciOption("LeafBatch", "spin", 16, 1, 256),
)


class PuctUciServer(UciServer):
    """The UCI server with `PuctEngine` as its searcher."""

    def __init__(self, engine: PuctEngine, **kwargs: object) -> None:
        super().__init__(name=f"{engine.name}", extra_options=ENGINE_OPTIONS, **kwargs)
        self.engine = engine
        self.values["weightsfile"] = engine.weights
        self.values["leafbatch"] = engine.config.batch_size
        self.applied = dict(self.values)

    def ensure_searcher(self) -> None:
        for name in ("weightsfile", "leafbatch"):
            if self.values[name] != self.applied[name]:
                try:
                    self.engine.set_option(name, self.values[name])
                    self.applied[name] = self.values[name]
                except ValueError as error:
                    self.complain(str(error))
                    self.values[name] = self.applied[name]
        try:
            self.engine.prepare()
        except ValueError as error:
            self.complain(str(error))
        self.searcher = self.engine  # type: ignore[assignment]
        self.needs_rebuild = False

    def cmd_setoption(self, arguments: list[str]) -> None:
        super().cmd_setoption(arguments)
        if self.needs_rebuild and not self.searching():
            self.ensure_searcher()  # apply now, so a refused file is reported at once


def serve_engine(engine: PuctEngine) -> int:
    return serve(PuctUciServer(engine))
