// Every view of the frontend, in navigation order. A new view: one module, one line here.
import login from "./login.js";
import home from "./home.js";
import dashboard from "./dashboard.js";
import inbox from "./inbox.js";
import myRecord from "./my-record.js";
import records from "./records.js";
import meeting from "./meeting.js";
import ballot from "./ballot.js";
import decision from "./decision.js";
import responsibility from "./responsibility.js";
import timeline from "./timeline.js";

export const VIEWS = [login, home, dashboard, inbox, myRecord, records, meeting, ballot, decision, responsibility, timeline];
