// Starts the GOV.UK Frontend components on the page. Loaded as a module file, not inline, so that the
// Content Security Policy can forbid inline scripts.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
