"""Routes of the accountability service (C1–C7)."""
from services.gateway import schemas
from services.gateway.access import org_for_read, own_org, require_person_record
from services.gateway.http import route

DISCIPLINE = ("discipline",)


class AccountabilityRoutes:

    @route("GET", "/api/v1/decisions/<decision_id>/responsibility",
           summary="who answers for a decision (C1)", tag="accountability")
    def decision_responsibility(self, actor, decision_id):
        return self.accountability.decision_links(actor.to_dict(), decision_id)

    @route("GET", "/api/v1/persons/<person_id>/record", query=schemas.LifetimeQuery,
           summary="a person's lifetime responsibility record (C2)", tag="accountability")
    def person_record(self, actor, person_id, query):
        record = self.accountability.person_record(actor.to_dict(), person_id, query["limit"], query["offset"],
                                                   query["cursor"])
        return require_person_record(self.meetings, actor, person_id, record)

    # ------------------------------------------------------------ implementation (C5)

    @route("POST", "/api/v1/decisions/<decision_id>/tasks", body=schemas.AssignImplementationIn, status=201,
           rule="C5", summary="assign a passed decision's implementation (leader, units, deadline)",
           tag="accountability")
    def assign_implementation(self, actor, decision_id, body):
        return self.accountability.assign_implementation(actor.to_dict(), decision_id, body)

    @route("GET", "/api/v1/tasks", query=schemas.TaskListQuery, rule="C5",
           summary="implementation tasks with red/yellow/green status", tag="accountability")
    def list_tasks(self, actor, query):
        return self.accountability.list_tasks(actor.to_dict(), org_for_read(actor, query["org_id"]),
                                              query["status"])

    @route("GET", "/api/v1/tasks/<task_id>", rule="C5", summary="an implementation task with its history",
           tag="accountability")
    def get_task(self, actor, task_id):
        return self.accountability.get_task(actor.to_dict(), task_id)

    @route("POST", "/api/v1/tasks/<task_id>/progress", body=schemas.ReportProgressIn, rule="C5",
           summary="the responsible leader reports progress", tag="accountability")
    def report_progress(self, actor, task_id, body):
        return self.accountability.report_progress(actor.to_dict(), task_id, body)

    @route("POST", "/api/v1/tasks/<task_id>/supervision", body=schemas.SuperviseIn, rule="C5",
           summary="office or discipline supervision notes and feedback", tag="accountability")
    def supervise(self, actor, task_id, body):
        return self.accountability.supervise(actor.to_dict(), task_id, body)

    @route("POST", "/api/v1/tasks/<task_id>/postpone", body=schemas.PostponeIn, rule="C5",
           summary="postpone, with an explanation to the group", tag="accountability")
    def postpone(self, actor, task_id, body):
        return self.accountability.postpone(actor.to_dict(), task_id, body)

    @route("POST", "/api/v1/tasks/<task_id>/not-executable", body=schemas.NotExecutableIn, rule="C5",
           summary="declare a decision not executable, with an explanation to the group", tag="accountability")
    def declare_not_executable(self, actor, task_id, body):
        return self.accountability.declare_not_executable(actor.to_dict(), task_id, body)

    # ------------------------------------------------------------ cases (C3, C4)

    @route("POST", "/api/v1/cases", roles=DISCIPLINE, rule="C4", body=schemas.OpenCaseBody, status=201,
           summary="open an accountability case under one of the eight triggers", tag="accountability")
    def open_case(self, actor, body):
        return self.accountability.open_case(actor.to_dict(), dict(body, org_id=body["org_id"] or own_org(actor)))

    @route("GET", "/api/v1/cases", query=schemas.CaseListQuery, rule="C4", summary="accountability cases",
           tag="accountability")
    def list_cases(self, actor, query):
        return self.accountability.list_cases(actor.to_dict(), org_for_read(actor, query["org_id"]),
                                              query["status"])

    @route("GET", "/api/v1/cases/<case_id>", rule="C4", summary="a case with each person's proposed responsibility",
           tag="accountability")
    def get_case(self, actor, case_id):
        return self.accountability.get_case(actor.to_dict(), case_id)

    @route("POST", "/api/v1/cases/<case_id>/conclusion", roles=DISCIPLINE, rule="C4", body=schemas.ConcludeCaseIn,
           summary="conclude a case with the outcome per person", tag="accountability")
    def conclude_case(self, actor, case_id, body):
        return self.accountability.conclude_case(actor.to_dict(), case_id, body)

    # ------------------------------------------------------------ duties and reports (C6)

    @route("POST", "/api/v1/duties", body=schemas.CreateDutyBody, status=201, rule="C6",
           summary="a duty report, assessment or report to the organization department, with a due date",
           tag="accountability")
    def create_duty(self, actor, body):
        return self.accountability.create_duty(actor.to_dict(), dict(body, org_id=body["org_id"] or own_org(actor)))

    @route("GET", "/api/v1/duties", query=schemas.DutyListQuery, rule="C6", summary="duties and reports",
           tag="accountability")
    def list_duties(self, actor, query):
        return self.accountability.list_duties(actor.to_dict(), org_for_read(actor, query["org_id"]),
                                               query["year"], query["status"])

    @route("POST", "/api/v1/duties/<duty_id>/filing", body=schemas.FileDutyIn, rule="C6",
           summary="file a duty report", tag="accountability")
    def file_duty(self, actor, duty_id, body):
        return self.accountability.file_duty(actor.to_dict(), duty_id, body)

    # ------------------------------------------------------------ compliance alerts (C7)

    @route("GET", "/api/v1/alerts", query=schemas.AlertListQuery, rule="C7", summary="compliance alerts",
           tag="accountability")
    def list_alerts(self, actor, query):
        return self.accountability.list_alerts(actor.to_dict(), org_for_read(actor, query["org_id"]),
                                               query["open_only"])

    @route("POST", "/api/v1/alerts/<alert_id>/acknowledgement", body=schemas.AcknowledgeAlertIn, rule="C7",
           summary="acknowledge a compliance alert", tag="accountability")
    def acknowledge_alert(self, actor, alert_id, body):
        return self.accountability.acknowledge_alert(actor.to_dict(), alert_id, body)
