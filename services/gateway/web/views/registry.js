// Every view of the frontend, in navigation order. A new view: one module, one line here.
import login from "./login.js";
import duties from "./duties.js";
import record from "./record.js";
import readLog from "./read-log.js";
import preferences from "./preferences.js";
import votingPolicy from "./voting-policy.js";
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
import meetings from "./meetings.js";
import meetingLeave from "./meeting-leave.js";
import minutes from "./minutes.js";
import tasks from "./tasks.js";
import task from "./task.js";
import alerts from "./alerts.js";
import cases from "./cases.js";
import caseView from "./case.js";
import topics from "./topics.js";
import provisional from "./provisional.js";
import admin from "./admin.js";
import integrations from "./integrations.js";
import enrol from "./enrol.js";
import { documentPage, documentsList } from "./documents.js";
import democraticLife from "./democratic-life.js";
import search from "./search.js";

export const VIEWS = [login, duties, votingPolicy, preferences, record, readLog, enrol, home, meetings, topics, provisional, dashboard, tasks, alerts, cases, inbox, myRecord, records, meeting, meetingLeave,
  minutes, ballot, decision, responsibility, timeline, task, caseView, admin, integrations,
  documentsList, documentPage, democraticLife, search];
