"""A text progress bar on stderr for long passes over many images.

On a terminal it redraws one line; in a log (not a terminal) it writes a
line every 10%, so logs stay short.
"""
import sys
import time

WIDTH = 30
REDRAW_SECONDS = 0.2


class Progress(object):

    def __init__(self, total, label, stream=None):
        self.total = max(int(total), 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.start = time.monotonic()
        self._tty = getattr(self.stream, 'isatty', lambda: False)()
        self._last_draw = 0.0
        self._last_decile = -1

    def update(self, n=1):
        self.done += n
        now = time.monotonic()
        if self._tty:
            if now - self._last_draw >= REDRAW_SECONDS or \
                    self.done >= self.total:
                self._last_draw = now
                self.stream.write('\r' + self._line(now))
                self.stream.flush()
        elif self.total:
            decile = 10 * self.done // self.total
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(self._line(now) + '\n')
                self.stream.flush()

    def _line(self, now):
        fraction = self.done / self.total if self.total else 1.0
        filled = int(WIDTH * min(fraction, 1.0))
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return '{} [{}{}] {}/{} ({:.0f}/s)'.format(
            self.label, '#' * filled, '.' * (WIDTH - filled), self.done,
            self.total, rate)

    def close(self):
        if self._tty:
            self.stream.write('\r' + self._line(time.monotonic()) + '\n')
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
