// DOM and timing helpers of the web inbox. Text is only ever added as text nodes.

export const $ = (id) => document.getElementById(id);

// Build an element; string children become text nodes (never parsed as HTML).
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

// Run `task` now, or once more after the run in progress: bursts of events cost two reads.
export function coalesced(task) {
  let running = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again);
      } catch (error) {
        console.warn("inbox refresh failed:", error);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}
