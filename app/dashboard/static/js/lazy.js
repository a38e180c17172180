// Draw a plot only once it is on screen (or about to be): below-the-fold plots of a large search then
// cost nothing until the user scrolls to them, and the first screen shows at once.

const MARGIN = 150;

function nearScreen(element) {
  const box = element.getBoundingClientRect();
  return box.bottom > -MARGIN && box.top < innerHeight + MARGIN;
}

export class LazyDrawer {
  constructor() {
    this.pending = new Map();
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        entry.target.dataset.onScreen = "true";
        const draw = this.pending.get(entry.target);
        if (draw) {
          this.pending.delete(entry.target);
          draw();
        }
      }
    }, { rootMargin: `${MARGIN}px` });
  }

  // Draws now if the element has been on screen, else when it first comes into view (the latest
  // `draw` given wins). Returns a promise of the drawing, or null when it waits.
  draw(element, draw) {
    if (element.dataset.onScreen || nearScreen(element)) {
      element.dataset.onScreen = "true";
      return draw();
    }
    if (!this.pending.has(element)) this.observer.observe(element);
    this.pending.set(element, draw);
    return null;
  }

  stop() {
    this.observer.disconnect();
    this.pending.clear();
  }
}
