//! `docs/first-shop.md` run as written: every `http` block is sent in order to a fresh
//! server, `{{name}}` placeholders are filled from earlier answers, each answer must have
//! the status its `<!-- expect: N -->` comment names, and `<!-- save: name = .path -->`
//! comments keep fields of it for the calls that follow.

use emporium_testkit::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;

const GUIDE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/first-shop.md");

/// The admin the guide creates with `emporium admin create` before its first call.
const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// One call of the guide.
#[derive(Debug)]
struct Step {
    /// Line of the guide where the block starts, for failure messages.
    line: usize,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    /// The status the answer must have; any 2xx when the guide names none.
    expect: Option<u16>,
    /// `(name, path)`: fields of the answer to keep.
    saves: Vec<(String, String)>,
}

/// Parses one `http` block: `METHOD PATH`, header lines, a blank line, the body.
fn parse_block(line: usize, lines: &[&str]) -> Step {
    let mut rest = lines.iter().skip_while(|l| l.trim().is_empty());
    let request = rest
        .next()
        .unwrap_or_else(|| panic!("line {line}: an empty http block"));
    let mut words = request.split_whitespace();
    let method = words
        .next()
        .unwrap_or_else(|| panic!("line {line}: no method"))
        .to_string();
    let path = words
        .next()
        .unwrap_or_else(|| panic!("line {line}: no path"))
        .to_string();
    let mut headers = Vec::new();
    let mut body_lines = Vec::new();
    let mut in_body = false;
    for text in rest {
        if in_body {
            body_lines.push(*text);
        } else if text.trim().is_empty() {
            in_body = true;
        } else {
            let (name, value) = text
                .split_once(':')
                .unwrap_or_else(|| panic!("line {line}: {text:?} is not a header"));
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let body = body_lines.join("\n").trim().to_string();
    Step {
        line,
        method,
        path,
        headers,
        body: (!body.is_empty()).then_some(body),
        expect: None,
        saves: Vec::new(),
    }
}

/// `<!-- key: value -->` on a line of its own.
fn directive(line: &str) -> Option<(&str, &str)> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let (key, value) = inner.split_once(':')?;
    Some((key.trim(), value.trim()))
}

/// The guide's calls, in order, each with the comments that follow its block.
fn parse_guide(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut http: Option<(usize, Vec<&str>)> = None;
    let mut other_fence = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_end();
        if let Some((start, mut lines)) = http.take() {
            if trimmed == "```" {
                steps.push(parse_block(start, &lines));
            } else {
                lines.push(line);
                http = Some((start, lines));
            }
            continue;
        }
        if other_fence {
            if trimmed.starts_with("```") {
                other_fence = false;
            }
            continue;
        }
        if trimmed == "```http" {
            http = Some((number, Vec::new()));
            continue;
        }
        if trimmed.starts_with("```") {
            other_fence = true;
            continue;
        }
        let Some((key, value)) = directive(trimmed) else {
            continue;
        };
        let step = steps
            .last_mut()
            .unwrap_or_else(|| panic!("line {number}: {key} comes before any http block"));
        match key {
            "expect" => {
                let status = value
                    .parse::<u16>()
                    .unwrap_or_else(|_| panic!("line {number}: {value:?} is not a status"));
                step.expect = Some(status);
            }
            "save" => {
                let (name, path) = value
                    .split_once('=')
                    .unwrap_or_else(|| panic!("line {number}: save needs `name = .path`"));
                step.saves
                    .push((name.trim().to_string(), path.trim().to_string()));
            }
            other => panic!("line {number}: unknown directive {other:?}"),
        }
    }
    assert!(http.is_none(), "an http block is not closed");
    steps
}

/// Replaces every `{{name}}` with its saved value.
fn fill(text: &str, saved: &HashMap<String, String>, line: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .unwrap_or_else(|| panic!("line {line}: a placeholder is not closed"));
        let name = after[..end].trim();
        let value = saved
            .get(name)
            .unwrap_or_else(|| panic!("line {line}: {name} is used before it is saved"));
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The value at a path such as `.id`, `.order.id` or `.variants[0].id`.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    for part in path.strip_prefix('.')?.split('.') {
        let (field, mut indexes) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if !field.is_empty() {
            current = current.get(field)?;
        }
        while let Some(inner) = indexes.strip_prefix('[') {
            let close = inner.find(']')?;
            let index: usize = inner[..close].parse().ok()?;
            current = current.get(index)?;
            indexes = &inner[close + 1..];
        }
        if !indexes.is_empty() {
            return None;
        }
    }
    Some(current)
}

#[test]
fn the_guide_parses_into_calls() {
    let text = "intro\n\n```http\nPOST /api/v1/things\nAuthorization: Bearer {{token}}\n\
                Content-Type: application/json\n\n{\"a\": 1,\n \"b\": 2}\n```\n\n\
                <!-- save: thing_id = .items[1].id -->\n<!-- expect: 201 -->\n\n\
                ```sh\n<!-- expect: 500 -->\n```\n\n```http\nGET /api/v1/things/{{thing_id}}\n```\n";
    let steps = parse_guide(text);
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[0].method.as_str(), steps[0].path.as_str()),
        ("POST", "/api/v1/things")
    );
    assert_eq!(steps[0].headers.len(), 2);
    assert_eq!(steps[0].body.as_deref(), Some("{\"a\": 1,\n \"b\": 2}"));
    assert_eq!(steps[0].expect, Some(201));
    assert_eq!(
        steps[0].saves,
        vec![("thing_id".to_string(), ".items[1].id".to_string())]
    );
    assert_eq!((steps[1].body.as_deref(), steps[1].expect), (None, None));

    let saved = HashMap::from([("thing_id".to_string(), "42".to_string())]);
    assert_eq!(
        fill(&steps[1].path, &saved, steps[1].line),
        "/api/v1/things/42"
    );
    let answer = json!({"id": "x", "items": [{"id": "a"}, {"id": "b"}], "order": {"id": 7}});
    assert_eq!(lookup(&answer, ".items[1].id"), Some(&json!("b")));
    assert_eq!(lookup(&answer, ".order.id"), Some(&json!(7)));
    assert_eq!(lookup(&answer, ".id"), Some(&json!("x")));
    assert_eq!(lookup(&answer, ".items[2].id"), None);
    assert_eq!(lookup(&answer, "id"), None);
}

#[tokio::test]
async fn the_first_shop_guide_runs_as_written() {
    let text = std::fs::read_to_string(GUIDE).expect("docs/first-shop.md is readable");
    assert!(
        text.contains(&format!("admin create --email {ADMIN_EMAIL}"))
            && text.contains(ADMIN_PASSWORD),
        "the guide creates the admin this test creates"
    );
    let steps = parse_guide(&text);
    assert!(
        steps.len() >= 10,
        "the guide has {} http blocks",
        steps.len()
    );

    let app = TestApp::spawn().await;
    // What `emporium admin create` does before the guide's first call: an account with
    // the guide's email and password, made an admin by another admin.
    let user = app.register(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let user_id = user["id"].as_str().expect("user id");
    let owner = app.admin().await;
    let promoted = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/users/{user_id}"),
            Some(&owner.access_token),
            Some(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(promoted.status(), 200, "the guide's admin is made an admin");

    let mut saved: HashMap<String, String> = HashMap::new();
    for (index, step) in steps.iter().enumerate() {
        let number = index + 1;
        let method = Method::from_bytes(step.method.as_bytes())
            .unwrap_or_else(|_| panic!("line {}: {:?} is not a method", step.line, step.method));
        let path = fill(&step.path, &saved, step.line);
        let mut request = app.request(method, &path);
        for (name, value) in &step.headers {
            request = request.header(name.as_str(), fill(value, &saved, step.line));
        }
        if let Some(body) = &step.body {
            request = request.body(fill(body, &saved, step.line));
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("answer body");
        let call = format!("call {number} (line {}): {} {path}", step.line, step.method);
        match step.expect {
            Some(expected) => assert_eq!(status, expected, "{call} answered: {text}"),
            None => assert!(
                (200..300).contains(&status),
                "{call} answered {status}: {text}"
            ),
        }
        if step.saves.is_empty() {
            continue;
        }
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{call}: the answer is not JSON ({err}): {text}"));
        for (name, field) in &step.saves {
            let value = match lookup(&answer, field) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => panic!("{call}: no {field} in the answer: {text}"),
                Some(other) => other.to_string(),
            };
            saved.insert(name.clone(), value);
        }
    }
}
