//! A fake AWS Partner Central Selling API on a loopback port.
//!
//! Every request is checked as AWS would: `POST /`, the operation in
//! `X-Amz-Target`, `Content-Type: application/x-amz-json-1.0`, a SigV4
//! `Authorization` of the right form whose signature is computed again
//! here with the test key, `X-Amz-Date`, and the body against the
//! operation's input shape in AWS's published model. A request that fails
//! any check is answered 400 `ValidationException`, as AWS does, and kept
//! with its problems; [`Aws::checked_calls`] fails the test if any request
//! had one, or if any answer the fake gave is off the output shape.
//!
//! It keeps state: opportunities by client token (a repeated token is the
//! same opportunity), submission and acceptance tasks by client token, and
//! invitations. It can be told to throttle or fail coming requests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::model::{Model, Problem};
use super::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The operation (`CreateOpportunity`), or what `X-Amz-Target` said.
    pub operation: String,
    /// The body.
    pub body: Value,
    /// The headers, by lowercase name.
    pub headers: BTreeMap<String, String>,
    /// What was wrong with it.
    pub problems: Vec<String>,
    /// The answer's status.
    pub status: u16,
}

/// An opportunity in the fake.
#[derive(Debug, Clone)]
pub struct Opportunity {
    /// `Id` (`O…`).
    pub id: String,
    /// The `ClientToken` it was created with.
    pub client_token: Option<String>,
    /// The `CreateOpportunity` body it was made from.
    pub request: Value,
    /// `PartnerOpportunityIdentifier`.
    pub partner_id: Option<String>,
    /// `LifeCycle.ReviewStatus`.
    pub review_status: String,
    /// `LifeCycle.ReviewComments`.
    pub review_comments: Option<String>,
    /// `LifeCycle.ReviewStatusReason`.
    pub review_status_reason: Option<String>,
    /// `LifeCycle.TargetCloseDate` (`YYYY-MM-DD`).
    pub target_close_date: Option<String>,
    /// `LastModifiedDate`.
    pub last_modified: DateTime<Utc>,
}

/// An engagement invitation in the fake: its `GetEngagementInvitation`
/// answer, less what changes.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// `Id` (`engi-…`).
    pub id: String,
    /// `Status`: `PENDING`, `ACCEPTED`, `REJECTED`.
    pub status: String,
    /// The rest of the `GetEngagementInvitation` answer.
    pub details: Value,
    /// The `RejectionReason` the partner gave.
    pub rejection_reason: Option<String>,
}

/// A failure the fake answers instead of doing the call.
#[derive(Debug, Clone)]
struct Failure {
    /// Only calls of this operation, or any.
    operation: Option<String>,
    status: u16,
    code: String,
    message: String,
    times: usize,
}

#[derive(Debug, Default)]
struct World {
    calls: Vec<Call>,
    /// Answers the fake gave that are off the model's output shapes.
    bad_answers: Vec<String>,
    opportunities: Vec<Opportunity>,
    /// `StartEngagementFromOpportunityTask` and
    /// `StartEngagementByAcceptingInvitationTask` answers by client token.
    tasks: BTreeMap<String, (Value, Value)>,
    invitations: Vec<Invitation>,
    failures: Vec<Failure>,
    /// The most results a list answers, whatever `MaxResults` says.
    page_size: Option<usize>,
    /// Submissions AWS refuses: the task fails with this reason and message.
    failing_submissions: Option<(String, String)>,
    next_id: u64,
}

/// The fake, listening on `127.0.0.1`.
#[derive(Debug, Clone)]
pub struct Aws {
    url: String,
    world: Arc<Mutex<World>>,
}

impl Aws {
    /// Starts a fake on a free loopback port.
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World {
            next_id: 1_000_001,
            ..World::default()
        }));
        let app = Router::new().fallback(answer).with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}"),
            world,
        }
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The source's settings pointing at this fake, in the sandbox catalog,
    /// with writes unpaced so tests run quickly.
    pub fn settings(&self) -> Value {
        json!({ "endpoint": self.url, "catalog": "Sandbox", "writes_per_second": 1000 })
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// The next `times` calls of `operation` (any when `None`) are answered
    /// 400 `ThrottlingException`.
    pub fn throttle(&self, operation: Option<&str>, times: usize) {
        self.fail_with(
            operation,
            times,
            400,
            "ThrottlingException",
            "Rate exceeded",
        );
    }

    /// The next `times` calls of `operation` (any when `None`) are answered
    /// 500 `InternalServerException`.
    pub fn break_down(&self, operation: Option<&str>, times: usize) {
        self.fail_with(
            operation,
            times,
            500,
            "InternalServerException",
            "An internal error occurred.",
        );
    }

    /// The next call of `operation` is refused with a business validation
    /// error saying `message`.
    pub fn refuse(&self, operation: &str, message: &str) {
        self.fail_with(Some(operation), 1, 400, "ValidationException", message);
    }

    fn fail_with(
        &self,
        operation: Option<&str>,
        times: usize,
        status: u16,
        code: &str,
        message: &str,
    ) {
        self.world().failures.push(Failure {
            operation: operation.map(str::to_owned),
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            times,
        });
    }

    /// Lists answer at most `n` results a page.
    pub fn page_size(&self, n: usize) {
        self.world().page_size = Some(n);
    }

    /// Submissions fail as a task with `reason` and `message`.
    pub fn fail_submissions(&self, reason: &str, message: &str) {
        self.world().failing_submissions = Some((reason.to_owned(), message.to_owned()));
    }

    /// Adds an opportunity as AWS holds it after review.
    pub fn add_opportunity(&self, opportunity: Opportunity) {
        self.world().opportunities.push(opportunity);
    }

    /// Adds an invitation.
    pub fn add_invitation(&self, invitation: Invitation) {
        self.world().invitations.push(invitation);
    }

    /// AWS reviews opportunity `id`: its `ReviewStatus` becomes `status`
    /// (`Approved`, `Rejected`, `Action Required`, …) with the reviewer's
    /// `comments`, its `TargetCloseDate` becomes `target_close_date` when
    /// given (`YYYY-MM-DD`), and it was modified now, so an incremental
    /// read sees it again.
    pub fn review(
        &self,
        id: &str,
        status: &str,
        comments: Option<&str>,
        target_close_date: Option<&str>,
    ) {
        let mut world = self.world();
        let Some(opportunity) = world.opportunities.iter_mut().find(|o| o.id == id) else {
            panic!("the fake holds no opportunity {id}");
        };
        opportunity.review_status = status.to_owned();
        opportunity.review_comments = comments.map(str::to_owned);
        if let Some(date) = target_close_date {
            opportunity.target_close_date = Some(date.to_owned());
        }
        opportunity.last_modified = Utc::now();
    }

    /// The opportunities.
    pub fn opportunities(&self) -> Vec<Opportunity> {
        self.world().opportunities.clone()
    }

    /// The invitation `id`.
    pub fn invitation(&self, id: &str) -> Invitation {
        self.world()
            .invitations
            .iter()
            .find(|i| i.id == id)
            .cloned()
            .unwrap()
    }

    /// Every call, checked or not.
    pub fn calls(&self) -> Vec<Call> {
        self.world().calls.clone()
    }

    /// Every call, after checking that each followed the model and was
    /// signed, and that every answer followed the model.
    pub fn checked_calls(&self) -> Vec<Call> {
        let world = self.world();
        let mut problems: Vec<String> = world
            .calls
            .iter()
            .flat_map(|c| {
                c.problems
                    .iter()
                    .map(move |p| format!("{}: {p}", c.operation))
            })
            .collect();
        problems.extend(world.bad_answers.iter().cloned());
        assert!(
            problems.is_empty(),
            "off the model:\n{}",
            problems.join("\n")
        );
        world.calls.clone()
    }

    /// The bodies of the calls of `operation`, checked.
    pub fn bodies(&self, operation: &str) -> Vec<Value> {
        self.checked_calls()
            .into_iter()
            .filter(|c| c.operation == operation)
            .map(|c| c.body)
            .collect()
    }
}

type Shared = Arc<Mutex<World>>;

/// AWS's JSON error answer.
fn error(status: u16, code: &str, message: &str, problems: &[Problem]) -> Response {
    let mut body = json!({ "__type": code, "message": message });
    if code == "ValidationException" {
        body["Reason"] = json!(if problems.is_empty() {
            "BUSINESS_VALIDATION_FAILED"
        } else {
            "REQUEST_VALIDATION_FAILED"
        });
        body["ErrorList"] = Value::Array(
            problems
                .iter()
                .map(|p| json!({ "FieldName": p.field, "Message": p.message, "Code": p.code }))
                .collect(),
        );
    }
    (
        StatusCode::from_u16(status).unwrap(),
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-requestid", "5d8e6a86-0b55-4bd1-9c41-5f1f0d9e5b0a"),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn answer(
    State(world): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or("\u{fffd}").to_owned(),
            )
        })
        .collect();
    let target = headers.get("x-amz-target").cloned().unwrap_or_default();
    let operation = target
        .strip_prefix("AWSPartnerCentralSelling.")
        .unwrap_or(&target)
        .to_owned();
    let model = Model::selling();

    let mut problems: Vec<String> = Vec::new();
    if method != Method::POST || uri.path() != "/" {
        problems.push(format!(
            "{method} {}: AWS JSON APIs take POST /",
            uri.path()
        ));
    }
    if !target.starts_with("AWSPartnerCentralSelling.") || model.operation(&operation).is_none() {
        problems.push(format!(
            "X-Amz-Target `{target}` names no operation of the model"
        ));
    }
    if headers.get("content-type").map(String::as_str) != Some("application/x-amz-json-1.0") {
        problems.push(format!(
            "Content-Type is {:?}, not application/x-amz-json-1.0",
            headers.get("content-type")
        ));
    }
    problems.extend(check_signature(&method, &uri, &headers, &body));
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let mut shape_problems = Vec::new();
    match &parsed {
        Err(e) => problems.push(format!("the body is not JSON: {e}")),
        Ok(value) if model.operation(&operation).is_some() => {
            shape_problems = model.check_input(&operation, value);
            problems.extend(shape_problems.iter().map(ToString::to_string));
        }
        Ok(_) => {}
    }
    let body = parsed.unwrap_or(Value::Null);
    let mut world = world.lock().unwrap();
    let mut call = Call {
        operation: operation.clone(),
        body: body.clone(),
        headers,
        problems: problems.clone(),
        status: 400,
    };
    if !problems.is_empty() {
        world.calls.push(call);
        let message = format!(
            "{} validation error{} detected: {}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("; ")
        );
        return error(400, "ValidationException", &message, &shape_problems);
    }

    if let Some(i) = world
        .failures
        .iter()
        .position(|f| f.operation.as_deref().is_none_or(|o| o == operation))
    {
        let failure = world.failures[i].clone();
        world.failures[i].times -= 1;
        if world.failures[i].times == 0 {
            world.failures.remove(i);
        }
        call.status = failure.status;
        world.calls.push(call);
        return error(failure.status, &failure.code, &failure.message, &[]);
    }

    let outcome = world.operate(&operation, &body);
    call.status = match &outcome {
        Ok(_) => 200,
        Err((status, ..)) => *status,
    };
    world.calls.push(call);
    match outcome {
        Ok(answer) => {
            if let Some(shape) = model.output(&operation) {
                let off = model.check(shape, &answer);
                world.bad_answers.extend(
                    off.iter()
                        .map(|p| format!("the fake's {operation} answer: {p}")),
                );
            }
            (
                StatusCode::OK,
                [("content-type", "application/x-amz-json-1.0")],
                answer.to_string(),
            )
                .into_response()
        }
        Err((status, code, message)) => error(status, code, &message, &[]),
    }
}

type Outcome = Result<Value, (u16, &'static str, String)>;

fn not_found(what: &str) -> (u16, &'static str, String) {
    (
        400,
        "ResourceNotFoundException",
        format!("{what} was not found."),
    )
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A page of `items`: from the offset in `NextToken`, at most `MaxResults`
/// and the fake's page size.
fn page<T: Clone>(items: &[T], body: &Value, page_size: Option<usize>) -> (Vec<T>, Option<String>) {
    let start = body["NextToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("offset-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0usize);
    let size = body["MaxResults"]
        .as_u64()
        .map_or(20, |n| n as usize)
        .min(page_size.unwrap_or(usize::MAX));
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| format!("offset-{end}"));
    (items[start.min(end)..end].to_vec(), next)
}

impl World {
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn operate(&mut self, operation: &str, body: &Value) -> Outcome {
        match operation {
            "CreateOpportunity" => self.create_opportunity(body),
            "StartEngagementFromOpportunityTask" => self.submit(body),
            "ListOpportunities" => self.list_opportunities(body),
            "ListEngagementInvitations" => self.list_invitations(body),
            "GetEngagementInvitation" => self.get_invitation(body),
            "StartEngagementByAcceptingInvitationTask" => self.accept(body),
            "RejectEngagementInvitation" => self.reject(body),
            other => Err((
                400,
                "ValidationException",
                format!("the fake does not serve {other}"),
            )),
        }
    }

    fn create_opportunity(&mut self, body: &Value) -> Outcome {
        let token = body["ClientToken"].as_str().unwrap_or_default().to_owned();
        if let Some(same) = self
            .opportunities
            .iter()
            .find(|o| o.client_token.as_deref() == Some(token.as_str()))
        {
            if &same.request != body {
                return Err((
                    400,
                    "ConflictException",
                    "Conflicting client token submitted for a new request body.".into(),
                ));
            }
            return Ok(json!({
                "Id": same.id,
                "PartnerOpportunityIdentifier": same.partner_id,
                "LastModifiedDate": iso(same.last_modified)
            }));
        }
        let id = format!("O{}", self.new_id());
        let now = Utc::now();
        let opportunity = Opportunity {
            id: id.clone(),
            client_token: Some(token),
            request: body.clone(),
            partner_id: body["PartnerOpportunityIdentifier"]
                .as_str()
                .map(str::to_owned),
            review_status: "Pending Submission".into(),
            review_comments: None,
            review_status_reason: None,
            target_close_date: body["LifeCycle"]["TargetCloseDate"]
                .as_str()
                .map(str::to_owned),
            last_modified: now,
        };
        let answer = json!({
            "Id": id,
            "PartnerOpportunityIdentifier": opportunity.partner_id,
            "LastModifiedDate": iso(now)
        });
        self.opportunities.push(opportunity);
        Ok(answer)
    }

    fn task(&mut self, token: &str, body: &Value) -> Option<Outcome> {
        let (request, answer) = self.tasks.get(token)?;
        Some(if request == body {
            Ok(answer.clone())
        } else {
            Err((
                400,
                "ConflictException",
                "Conflicting client token submitted for a new request body.".into(),
            ))
        })
    }

    fn task_id(&mut self) -> String {
        format!("task-{:013}", self.new_id())
    }

    fn submit(&mut self, body: &Value) -> Outcome {
        let token = body["ClientToken"].as_str().unwrap_or_default().to_owned();
        if let Some(done) = self.task(&token, body) {
            return done;
        }
        let id = body["Identifier"].as_str().unwrap_or_default().to_owned();
        let catalog = body["Catalog"].as_str().unwrap_or_default().to_owned();
        let task = self.task_id();
        let failing = self.failing_submissions.clone();
        let Some(opportunity) = self.opportunities.iter_mut().find(|o| o.id == id) else {
            return Err(not_found(&format!("Opportunity {id}")));
        };
        let mut answer = json!({
            "TaskId": task,
            "TaskArn": format!("arn:aws:partnercentral:us-east-1::catalog/{catalog}/engagement-from-opportunity-task/{task}"),
            "StartTime": iso(Utc::now()),
            "TaskStatus": "IN_PROGRESS",
            "OpportunityId": id
        });
        match failing {
            Some((reason, message)) => {
                answer["TaskStatus"] = json!("FAILED");
                answer["ReasonCode"] = json!(reason);
                answer["Message"] = json!(message);
            }
            None => {
                opportunity.review_status = "Submitted".into();
                opportunity.last_modified = Utc::now();
            }
        }
        self.tasks.insert(token, (body.clone(), answer.clone()));
        Ok(answer)
    }

    fn list_opportunities(&mut self, body: &Value) -> Outcome {
        let after = body["LastModifiedDate"]["AfterLastModifiedDate"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let mut matching: Vec<&Opportunity> = self
            .opportunities
            .iter()
            .filter(|o| after.is_none_or(|a| o.last_modified > a))
            .collect();
        matching.sort_by_key(|o| (o.last_modified, o.id.clone()));
        let (items, next) = page(&matching, body, self.page_size);
        let summaries: Vec<Value> = items
            .iter()
            .map(|o| {
                let mut life = json!({ "ReviewStatus": o.review_status, "Stage": "Qualified" });
                if let Some(c) = &o.review_comments {
                    life["ReviewComments"] = json!(c);
                }
                if let Some(r) = &o.review_status_reason {
                    life["ReviewStatusReason"] = json!(r);
                }
                if let Some(d) = &o.target_close_date {
                    life["TargetCloseDate"] = json!(d);
                }
                let mut summary = json!({
                    "Catalog": body["Catalog"],
                    "Id": o.id,
                    "Arn": format!("arn:aws:partnercentral:us-east-1::catalog/{}/opportunity/{}", body["Catalog"].as_str().unwrap_or_default(), o.id),
                    "OpportunityType": "Net New Business",
                    "LastModifiedDate": iso(o.last_modified),
                    "CreatedDate": iso(o.last_modified),
                    "LifeCycle": life,
                    "Customer": { "Account": { "CompanyName": o.request["Customer"]["Account"]["CompanyName"].as_str().unwrap_or("Kesko") } }
                });
                if let Some(p) = &o.partner_id {
                    summary["PartnerOpportunityIdentifier"] = json!(p);
                }
                summary
            })
            .collect();
        let mut answer = json!({ "OpportunitySummaries": summaries });
        if let Some(next) = next {
            answer["NextToken"] = json!(next);
        }
        Ok(answer)
    }

    fn list_invitations(&mut self, body: &Value) -> Outcome {
        if body["ParticipantType"] != "RECEIVER" {
            return Ok(json!({ "EngagementInvitationSummaries": [] }));
        }
        let statuses: Vec<&str> = body["Status"]
            .as_array()
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let matching: Vec<&Invitation> = self
            .invitations
            .iter()
            .filter(|i| statuses.is_empty() || statuses.contains(&i.status.as_str()))
            .collect();
        let (items, next) = page(&matching, body, self.page_size);
        let summaries: Vec<Value> = items
            .iter()
            .map(|i| {
                let d = &i.details;
                json!({
                    "Arn": format!("arn:aws:partnercentral::123456789012:{}/engagement-invitation/{}", body["Catalog"].as_str().unwrap_or_default(), i.id),
                    "PayloadType": d["PayloadType"],
                    "Id": i.id,
                    "EngagementId": d["EngagementId"],
                    "EngagementTitle": d["EngagementTitle"],
                    "Status": i.status,
                    "InvitationDate": d["InvitationDate"],
                    "ExpirationDate": d["ExpirationDate"],
                    "SenderAwsAccountId": "123456789012",
                    "SenderCompanyName": d["SenderCompanyName"],
                    "Catalog": body["Catalog"],
                    "ParticipantType": "RECEIVER"
                })
            })
            .collect();
        let mut answer = json!({ "EngagementInvitationSummaries": summaries });
        if let Some(next) = next {
            answer["NextToken"] = json!(next);
        }
        Ok(answer)
    }

    fn get_invitation(&mut self, body: &Value) -> Outcome {
        let id = body["Identifier"].as_str().unwrap_or_default();
        let Some(invitation) = self.invitations.iter().find(|i| i.id == id) else {
            return Err(not_found(&format!("Engagement invitation {id}")));
        };
        let mut answer = invitation.details.clone();
        answer["Id"] = json!(invitation.id);
        answer["Status"] = json!(invitation.status);
        answer["Catalog"] = body["Catalog"].clone();
        if let Some(reason) = &invitation.rejection_reason {
            answer["RejectionReason"] = json!(reason);
        }
        Ok(answer)
    }

    fn accept(&mut self, body: &Value) -> Outcome {
        let token = body["ClientToken"].as_str().unwrap_or_default().to_owned();
        if let Some(done) = self.task(&token, body) {
            return done;
        }
        let id = body["Identifier"].as_str().unwrap_or_default().to_owned();
        let opportunity = format!("O{}", self.new_id());
        let task = self.task_id();
        let Some(invitation) = self.invitations.iter_mut().find(|i| i.id == id) else {
            return Err(not_found(&format!("Engagement invitation {id}")));
        };
        if invitation.status != "PENDING" {
            return Err((
                400,
                "ConflictException",
                format!(
                    "The invitation is {} and can no longer be accepted.",
                    invitation.status
                ),
            ));
        }
        invitation.status = "ACCEPTED".into();
        let answer = json!({
            "TaskId": task,
            "TaskArn": format!("arn:aws:partnercentral:us-east-1::catalog/{}/engagement-by-accepting-invitation-task/{task}", body["Catalog"].as_str().unwrap_or_default()),
            "StartTime": iso(Utc::now()),
            "TaskStatus": "IN_PROGRESS",
            "OpportunityId": opportunity,
            "EngagementInvitationId": id
        });
        self.tasks.insert(token, (body.clone(), answer.clone()));
        Ok(answer)
    }

    fn reject(&mut self, body: &Value) -> Outcome {
        let id = body["Identifier"].as_str().unwrap_or_default();
        let Some(invitation) = self.invitations.iter_mut().find(|i| i.id == id) else {
            return Err(not_found(&format!("Engagement invitation {id}")));
        };
        if invitation.status != "PENDING" {
            return Err((
                400,
                "ConflictException",
                format!(
                    "The invitation is {} and can no longer be rejected.",
                    invitation.status
                ),
            ));
        }
        invitation.status = "REJECTED".into();
        invitation.rejection_reason = body["RejectionReason"].as_str().map(str::to_owned);
        Ok(json!({}))
    }
}

/// Checks the SigV4 headers: `X-Amz-Date`, an `Authorization` of the form
/// `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/partnercentral-selling/aws4_request,
/// SignedHeaders=..., Signature=<64 hex>`, and the signature itself,
/// computed again from what arrived with the test key's secret.
pub fn check_signature(
    method: &Method,
    uri: &Uri,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(date) = headers.get("x-amz-date") else {
        problems.push("no X-Amz-Date".to_owned());
        return problems;
    };
    let Ok(time) = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ") else {
        problems.push(format!("X-Amz-Date `{date}` is not YYYYMMDD'T'HHMMSS'Z'"));
        return problems;
    };
    let Some(authorization) = headers.get("authorization") else {
        problems.push("no Authorization".to_owned());
        return problems;
    };
    let Some(rest) = authorization.strip_prefix("AWS4-HMAC-SHA256 ") else {
        problems.push("Authorization is not AWS4-HMAC-SHA256".to_owned());
        return problems;
    };
    let parts: BTreeMap<&str, &str> = rest
        .split(',')
        .filter_map(|p| p.trim().split_once('='))
        .collect();
    let credential: Vec<&str> = parts
        .get("Credential")
        .map_or(vec![], |c| c.split('/').collect());
    let scope_ok = credential.len() == 5
        && credential[0] == ACCESS_KEY_ID
        && credential[1] == &date[..8]
        && credential[2] == "us-east-1"
        && credential[3] == "partnercentral-selling"
        && credential[4] == "aws4_request";
    if !scope_ok {
        problems.push(format!(
            "the credential scope `{}` is not {ACCESS_KEY_ID}/{}/us-east-1/partnercentral-selling/aws4_request",
            parts.get("Credential").unwrap_or(&""),
            &date[..8]
        ));
    }
    let signed: Vec<&str> = parts
        .get("SignedHeaders")
        .map_or(vec![], |s| s.split(';').collect());
    for needed in ["content-type", "host", "x-amz-date", "x-amz-target"] {
        if !signed.contains(&needed) {
            problems.push(format!("SignedHeaders do not include {needed}"));
        }
    }
    if headers.contains_key("x-amz-security-token") && !signed.contains(&"x-amz-security-token") {
        problems.push("the session token is not signed".to_owned());
    }
    let signature = parts.get("Signature").copied().unwrap_or_default();
    if signature.len() != 64
        || !signature
            .chars()
            .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    {
        problems.push(format!(
            "Signature `{signature}` is not 64 lowercase hex digits"
        ));
        return problems;
    }
    if !problems.is_empty() {
        return problems;
    }

    // The signature again, from what arrived.
    let host = headers.get("host").cloned().unwrap_or_default();
    let url = format!(
        "http://{host}{}",
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let to_sign: Vec<(&str, &str)> = signed
        .iter()
        .filter(|h| !matches!(**h, "x-amz-date" | "x-amz-security-token"))
        .filter_map(|h| headers.get(*h).map(|v| (*h, v.as_str())))
        .collect();
    let identity = aws_credential_types::Credentials::new(
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        headers.get("x-amz-security-token").cloned(),
        None,
        "fake",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("partnercentral-selling")
        .time(SystemTime::from(time.and_utc()))
        .settings(aws_sigv4::http_request::SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let request = aws_sigv4::http_request::SignableRequest::new(
        method.as_str(),
        url,
        to_sign.into_iter(),
        aws_sigv4::http_request::SignableBody::Bytes(body),
    )
    .unwrap();
    let (_, expected) = aws_sigv4::http_request::sign(request, &params)
        .unwrap()
        .into_parts();
    if expected != signature {
        problems
            .push("the signature does not match the request (SignatureDoesNotMatch)".to_owned());
    }
    problems
}
