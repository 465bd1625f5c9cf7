// Hand pictures: which fingers go on the glass for each slap (animated), the captured
// fingers' state, and picking a missing finger by tapping it. Hands are drawn palm down,
// as they lie on the reader, so the fingers are in the same left-to-right order as the
// slap image (right hand: index..little, thumb on the left; left hand mirrored).

import { svg } from "./ui.js";

const FINGERS = {
  // x, y, width, height of each finger of a right hand (viewBox 0 0 200 210)
  thumb: [4, 112, 30, 60],
  index: [42, 26, 26, 86],
  middle: [72, 12, 26, 100],
  ring: [102, 22, 26, 90],
  little: [132, 48, 24, 64],
};
const RIGHT = { thumb: 1, index: 2, middle: 3, ring: 4, little: 5 };
const LEFT = { thumb: 6, index: 7, middle: 8, ring: 9, little: 10 };

/** The fingers a slap places, by FGP position (the same as the server's SLAP_LAYOUT). */
export const SLAP_FINGERS = {
  slap_right_four: [2, 3, 4, 5],
  slap_left_four: [10, 9, 8, 7],
  slap_thumbs: [6, 1],
};
/** Every finger in slap order: the order of the missing-finger picker. */
export const SLAP_ORDER = [2, 3, 4, 5, 10, 9, 8, 7, 6, 1];

/**
 * One hand. `state(position)` gives "place" | "ok" | "low" | "missing" | "" per finger;
 * `label(position)` its accessible name; with `onPick` every finger is a button.
 */
export function hand(side, { state = () => "", label = String, onPick = null, pressed = () => false, title = "" } = {}) {
  const positions = side === "right" ? RIGHT : LEFT;
  const fingers = Object.entries(FINGERS).map(([name, [x, y, w, hgt]]) => {
    const position = positions[name];
    const shape = svg("rect", { x, y, width: w, height: hgt, rx: w / 2, class: "finger-shape" });
    const attrs = {
      class: `finger-part ${state(position)}`,
      "data-finger": position,
      transform: name === "thumb" ? `rotate(-35 ${x + w / 2} ${y + hgt})` : undefined,
    };
    if (onPick) {
      Object.assign(attrs, {
        role: "button",
        tabindex: 0,
        "aria-label": label(position),
        "aria-pressed": String(pressed(position)),
      });
    }
    const group = svg("g", attrs, svg("title", {}, label(position)), shape);
    if (onPick) {
      group.addEventListener("click", () => onPick(position));
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          onPick(position);
        }
      });
    }
    return group;
  });
  const body = svg(
    "g",
    { transform: side === "left" ? "translate(200 0) scale(-1 1)" : undefined },
    svg("rect", { x: 38, y: 100, width: 122, height: 100, rx: 28, class: "palm" }),
    fingers,
  );
  return svg(
    "svg",
    { viewBox: side === "right" ? "-30 0 230 210" : "0 0 230 210", class: `hand ${side}`, role: onPick ? "group" : "img", "aria-label": title },
    title ? svg("title", {}, title) : null,
    body,
  );
}

/** The animated picture of one slap: the hands come down onto the glass, fingers lit. */
export function slapDiagram(kind, title, marks = {}) {
  const placed = new Set(SLAP_FINGERS[kind]);
  const state = (position) => marks[position] || (placed.has(position) ? "place" : "off");
  const sides = kind === "slap_thumbs" ? ["left", "right"] : [kind === "slap_right_four" ? "right" : "left"];
  return svg(
    "svg",
    { viewBox: `0 0 ${240 * sides.length} 260`, class: "slap-diagram", role: "img", "aria-label": title },
    svg("title", {}, title),
    svg("rect", { x: 4, y: 226, width: 240 * sides.length - 8, height: 26, rx: 6, class: "glass" }),
    sides.map((side, index) => {
      const picture = hand(side, { state });
      picture.removeAttribute("role");
      picture.removeAttribute("aria-label");
      return svg("g", { transform: `translate(${index * 240 + (side === "right" ? 34 : 6)} 16)` }, svg("g", { class: "hand-anim" }, [...picture.childNodes]));
    }),
  );
}
