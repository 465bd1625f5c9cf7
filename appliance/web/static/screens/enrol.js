// The enrolment screens, one per workflow step (each in its own module). Applicant-facing
// text is in the applicant's language; the operator's controls in the operator's.

export { consent, declined } from "./consent.js";
export { documents } from "./documents.js";
export { face } from "./face.js";
export { fingerprints } from "./fingers.js";
export { aborted, receipt, submitting } from "./receipt.js";
export { review } from "./review.js";
export { handover, start } from "./start.js";
