//! The helpdesk: tickets opened by API and by mail, staff replies threaded by mail
//! headers and the signed reply address, reopening instead of duplicates, canned replies,
//! merging, attachments and round-robin assignment within capacity.

use base64::Engine;
use emporium_testkit::{TestApp, TestOptions};
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "inbound-secret-for-tests";

async fn helpdesk() -> TestApp {
    TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| {
            c.support.inbound_secret = Some(SECRET.to_string().into());
            c.support.reply_address = Some("Help <help@shop.example>".into());
        }),
        ..TestOptions::default()
    })
    .await
}

/// Waits until the element matching `css` holds `text` (a live page changes by itself).
async fn eventually(b: &fantoccini::Client, css: &str, text: &str) {
    for _ in 0..200 {
        if let Ok(found) = b.find(fantoccini::Locator::Css(css)).await
            && found.text().await.is_ok_and(|t| t.contains(text))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{css} never showed {text:?}");
}

/// A mail as Postmark's inbound webhook posts it.
fn mail(from: &str, subject: &str, text: &str, hash: &str, headers: &[(&str, &str)]) -> Value {
    let to = if hash.is_empty() {
        "help@shop.example".to_string()
    } else {
        format!("help+{hash}@shop.example")
    };
    json!({
        "FromName": "Jane Doe",
        "MessageStream": "inbound",
        "From": from,
        "FromFull": {"Email": from, "Name": "Jane Doe", "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": hash}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [],
        "OriginalRecipient": to,
        "Subject": subject,
        "MessageID": uuid::Uuid::now_v7().to_string(),
        "ReplyTo": "",
        "MailboxHash": hash,
        "Date": "Tue, 8 Dec 2026 10:00:00 +0000",
        "TextBody": format!("{text}\n\nOn Monday you wrote:\n> earlier words"),
        "HtmlBody": format!("<p>{text}</p>"),
        "StrippedTextReply": text,
        "Tag": "",
        "Headers": headers.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect::<Vec<_>>(),
        "Attachments": [],
    })
}

async fn post_mail(app: &TestApp, body: &Value) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/webhooks/inbound-mail/postmark")
        .basic_auth("inbound", Some(SECRET))
        .json(body)
        .send()
        .await
        .expect("sent")
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(got, status, "{body}");
    body
}

#[tokio::test]
async fn a_ticket_by_api_and_by_mail_stays_one_thread_and_reopens() {
    let app = helpdesk().await;
    let admin = app.admin().await;
    let guest = "jane@example.com";

    // A guest opens a ticket and gets its link, in the answer and by email.
    let opened = json_of(
        app.request(Method::POST, "/api/v1/support/tickets")
            .json(
                &json!({"subject": "Where is my parcel?", "body": "It has not come yet.",
                           "email": guest, "name": "Jane Doe"}),
            )
            .send()
            .await
            .expect("sent"),
        201,
    )
    .await;
    let id = opened["id"].as_str().expect("id").to_string();
    let number = opened["number"].as_i64().expect("number");
    let token = opened["token"].as_str().expect("token").to_string();
    assert_eq!(opened["status"], "new");
    app.drain_outbox().await;
    let receipt = app.smtp.wait_for(1, 5).await.remove(0);
    assert_eq!(
        receipt.subject(),
        format!("[#{number}] Where is my parcel?")
    );
    let reply_to = receipt.header("Reply-To").expect("reply-to");
    let hash = format!("t{number}-{token}");
    assert!(
        reply_to.contains(&format!("help+{hash}@shop.example")),
        "{reply_to}"
    );
    assert!(receipt.text().contains(&format!("token={token}")));
    let receipt_id = receipt.header("Message-ID").expect("message id");

    // The link opens it; nothing else does.
    let path = format!("/api/v1/support/tickets/{id}");
    json_of(app.get(&format!("{path}?token={token}")).await, 200).await;
    json_of(app.get(&format!("{path}?token=not-the-token")).await, 404).await;
    json_of(app.get(&path).await, 401).await;

    // Staff answer (threaded on the receipt) and keep a note the customer never sees.
    let admin_path = format!("/api/v1/admin/tickets/{id}");
    let reply = app
        .call(
            Method::POST,
            &format!("{admin_path}/messages"),
            Some(&admin.access_token),
            Some(&json!({"body": "It left our warehouse this morning."})),
        )
        .await;
    json_of(reply, 201).await;
    let note = app
        .call(
            Method::POST,
            &format!("{admin_path}/messages"),
            Some(&admin.access_token),
            Some(&json!({"body": "Carrier says Thursday.", "internal": true})),
        )
        .await;
    json_of(note, 201).await;
    app.drain_outbox().await;
    let answer = app.smtp.wait_for(2, 5).await.remove(1);
    assert_eq!(
        answer.subject(),
        format!("Re: [#{number}] Where is my parcel?")
    );
    assert_eq!(
        answer.header("In-Reply-To").as_deref(),
        Some(receipt_id.as_str())
    );
    assert!(
        answer
            .text()
            .contains("It left our warehouse this morning.")
    );
    assert!(!answer.text().contains("Thursday"));
    let answer_id = answer.header("Message-ID").expect("message id");
    let seen = json_of(app.get(&format!("{path}?token={token}")).await, 200).await;
    assert_eq!(seen["status"], "pending");
    assert_eq!(seen["messages"].as_array().expect("messages").len(), 2);

    // The customer answers by mail, threaded by In-Reply-To only; Postmark retries it.
    let first = mail(
        guest,
        &format!("Re: [#{number}] Where is my parcel?"),
        "Thanks, I will wait.",
        "",
        &[
            ("Message-ID", "<reply-1@mail.example.com>"),
            ("In-Reply-To", &answer_id),
        ],
    );
    let landed = json_of(post_mail(&app, &first).await, 200).await;
    assert_eq!(landed["ticket_id"], id.as_str());
    assert_eq!(landed["created"], false);
    let again = json_of(post_mail(&app, &first).await, 200).await;
    assert_eq!(again["duplicate"], true);
    let staff_view = json_of(
        app.call(Method::GET, &admin_path, Some(&admin.access_token), None)
            .await,
        200,
    )
    .await;
    assert_eq!(staff_view["status"], "open");
    assert_eq!(
        staff_view["messages"].as_array().expect("messages").len(),
        4
    );
    assert!(staff_view["first_response_at"].is_string());

    // Resolved, then a reply whose mail client dropped every thread header: the signed
    // reply address still finds the ticket, and it reopens.
    let resolved = app
        .call(
            Method::PATCH,
            &admin_path,
            Some(&admin.access_token),
            Some(&json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(json_of(resolved, 200).await["status"], "resolved");
    let bare = mail(
        guest,
        "Another question",
        "Also, can I change the colour?",
        &hash,
        &[("Message-ID", "<reply-2@mail.example.com>")],
    );
    let landed = json_of(post_mail(&app, &bare).await, 200).await;
    assert_eq!(landed["ticket_id"], id.as_str());
    let staff_view = json_of(
        app.call(Method::GET, &admin_path, Some(&admin.access_token), None)
            .await,
        200,
    )
    .await;
    assert_eq!(staff_view["status"], "open");
    let actions: Vec<&str> = staff_view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["action"].as_str())
        .collect();
    assert!(actions.contains(&"reopened"), "{actions:?}");

    // No header, no address token: the subject's tag from the ticket's own sender.
    let tagged = mail(
        guest,
        &format!("AW: [#{number}] Where is my parcel?"),
        "One more thing.",
        "",
        &[("Message-ID", "<reply-3@mail.example.com>")],
    );
    assert_eq!(
        json_of(post_mail(&app, &tagged).await, 200).await["ticket_id"],
        id.as_str()
    );
    // The same tag from someone else is not enough.
    let stranger = mail(
        "mallory@example.com",
        &format!("Re: [#{number}] Where is my parcel?"),
        "Let me in.",
        "",
        &[("Message-ID", "<stranger@mail.example.com>")],
    );
    let other = json_of(post_mail(&app, &stranger).await, 200).await;
    assert_eq!(other["created"], true);
    assert_ne!(other["ticket_id"], id.as_str());
    // A forged token in the address is not either.
    let forged = mail(
        "mallory@example.com",
        "Hi",
        "Let me in.",
        &format!("t{number}-{}", "0".repeat(32)),
        &[("Message-ID", "<forged@mail.example.com>")],
    );
    assert_ne!(
        json_of(post_mail(&app, &forged).await, 200).await["ticket_id"],
        id.as_str()
    );

    // The customer's view never holds the note.
    let seen = json_of(app.get(&format!("{path}?token={token}")).await, 200).await;
    let bodies: Vec<&str> = seen["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert!(!bodies.iter().any(|b| b.contains("Thursday")), "{bodies:?}");
    assert!(bodies.contains(&"Also, can I change the colour?"));

    // Credentials: none is 401, wrong is 403 (Postmark stops retrying).
    let none = app
        .request(Method::POST, "/api/v1/webhooks/inbound-mail/postmark")
        .json(&first)
        .send()
        .await
        .expect("sent");
    assert_eq!(none.status(), 401);
    let wrong = app
        .request(Method::POST, "/api/v1/webhooks/inbound-mail/postmark")
        .basic_auth("inbound", Some("guess"))
        .json(&first)
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 403);
}

#[tokio::test]
async fn attachments_are_typed_by_content_and_served_to_the_ticket_only() {
    let app = helpdesk().await;
    let admin = app.admin().await;
    let pdf = base64::engine::general_purpose::STANDARD
        .encode(b"%PDF-1.7\n%fake but typed by its start\n");
    let mut body = mail(
        "joe@example.com",
        "Broken zip",
        "See the photo.",
        "",
        &[("Message-ID", "<att@mail.example.com>")],
    );
    body["Attachments"] = json!([{"Name": "receipt.png", "Content": pdf, "ContentType": "image/png", "ContentLength": 40}]);
    let landed = json_of(post_mail(&app, &body).await, 200).await;
    assert_eq!(landed["created"], true);
    let id = landed["ticket_id"].as_str().expect("id");
    let ticket = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/tickets/{id}"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ticket["channel"], "email");
    let file = &ticket["messages"][0]["attachments"][0];
    assert_eq!(file["content_type"], "application/pdf", "{file}");
    assert_eq!(file["name"], "receipt.png");
    let url = file["url"].as_str().expect("url");
    let fetched = app
        .request(Method::GET, url)
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "application/pdf");
    assert!(
        fetched.headers()["content-disposition"]
            .to_str()
            .unwrap_or("")
            .starts_with("attachment")
    );
    assert_eq!(fetched.headers()["x-content-type-options"], "nosniff");
    // A customer's path without the ticket's secret gets nothing.
    let file_name = url.rsplit('/').next().expect("file");
    let stranger = app
        .get(&format!(
            "/api/v1/support/tickets/{id}/attachments/{file_name}?token=nope"
        ))
        .await;
    assert_eq!(stranger.status(), 404);
}

#[tokio::test]
async fn canned_replies_fill_the_customer_and_the_order() {
    let app = helpdesk().await;
    let admin = app.admin().await;
    let product = app.product(&admin, "Wool Hat", &["M"], 2500, 5).await;
    let cart = app.guest_cart().await;
    assert_eq!(
        app.add_to_cart(&cart, &product.variants[0], 1)
            .await
            .status(),
        200
    );
    let order: Value = json_of(app.checkout(&cart, "helpdesk-order", "US").await, 201).await;
    let order_number = order["order"]["number"].as_i64().expect("number");

    // Only the order's own buyer may name it.
    let not_theirs = app
        .request(Method::POST, "/api/v1/support/tickets")
        .json(&json!({"subject": "Hat", "body": "Size?", "email": "other@example.com", "order_number": order_number}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        json_of(not_theirs, 422).await["errors"][0]["field"],
        "order_number"
    );
    let opened = json_of(
        app.request(Method::POST, "/api/v1/support/tickets")
            .json(
                &json!({"subject": "Hat", "body": "Which size fits?", "email": "buyer@example.com",
                           "name": "Ada Lovelace", "order_number": order_number}),
            )
            .send()
            .await
            .expect("sent"),
        201,
    )
    .await;
    let id = opened["id"].as_str().expect("id");

    let bad = app
        .call(
            Method::POST,
            "/api/v1/admin/canned-replies",
            Some(&admin.access_token),
            Some(&json!({"title": "Broken", "body": "Hello {{ customer.first_name"})),
        )
        .await;
    assert_eq!(json_of(bad, 422).await["errors"][0]["field"], "body");
    let canned = json_of(app.call(Method::POST, "/api/v1/admin/canned-replies", Some(&admin.access_token),
        Some(&json!({"title": "On its way", "body": "Hello {{customer.first_name}}, order #{{order.number}} ships today. {{ nothing.here }}"}))).await, 201).await;
    let canned_id = canned["id"].as_str().expect("id");
    let filled = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/tickets/{id}/canned-replies/{canned_id}"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        filled["body"],
        format!("Hello Ada, order #{order_number} ships today. ")
    );
    let sent = json_of(
        app.call(
            Method::POST,
            &format!("/api/v1/admin/tickets/{id}/messages"),
            Some(&admin.access_token),
            Some(&json!({"canned_reply_id": canned_id, "status": "resolved"})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        sent["body"],
        format!("Hello Ada, order #{order_number} ships today.")
    );
    let ticket = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/tickets/{id}"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ticket["status"], "resolved");
    assert_eq!(ticket["order_number"], order_number);
    assert_eq!(ticket["recent_orders"][0]["number"], order_number);
    let both = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/tickets/{id}/messages"),
            Some(&admin.access_token),
            Some(&json!({"canned_reply_id": canned_id, "body": "and words"})),
        )
        .await;
    json_of(both, 422).await;
}

#[tokio::test]
async fn tickets_go_round_robin_within_capacity_and_wait_for_room() {
    let app = helpdesk().await;
    let admin = app.admin().await;
    let ann = app.staff(&["tickets.manage"]).await;
    let bob = app.staff(&["tickets.manage"]).await;
    let clerk = app.staff(&["orders.read"]).await;
    // Someone who does not answer tickets cannot be an agent.
    let refused = app
        .call(
            Method::PUT,
            &format!("/api/v1/admin/support/agents/{}", clerk.user_id),
            Some(&admin.access_token),
            Some(&json!({"capacity": 1})),
        )
        .await;
    json_of(refused, 422).await;
    for agent in [&ann, &bob] {
        let made = app
            .call(
                Method::PUT,
                &format!("/api/v1/admin/support/agents/{}", agent.user_id),
                Some(&admin.access_token),
                Some(&json!({"capacity": 1, "available": true})),
            )
            .await;
        json_of(made, 200).await;
    }
    let customer = app.customer().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let opened = app
            .call(
                Method::POST,
                "/api/v1/support/tickets",
                Some(&customer.access_token),
                Some(&json!({"subject": format!("Question {i}"), "body": "Help, please."})),
            )
            .await;
        ids.push(
            json_of(opened, 201).await["id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let assignee = |t: &Value| t["assignee_id"].as_str().map(str::to_string);
    let mut holders = Vec::new();
    for id in &ids {
        let t = json_of(
            app.call(
                Method::GET,
                &format!("/api/v1/admin/tickets/{id}"),
                Some(&admin.access_token),
                None,
            )
            .await,
            200,
        )
        .await;
        holders.push(assignee(&t));
    }
    // One each; the third waits in the queue.
    assert!(holders[0].is_some() && holders[1].is_some(), "{holders:?}");
    assert_ne!(holders[0], holders[1]);
    assert_eq!(holders[2], None);
    let queue = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/tickets?assignee=none",
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(queue["data"].as_array().expect("data").len(), 1);

    // The first agent resolves theirs: the waiting ticket is theirs at once.
    let freed = holders[0].clone().expect("holder");
    let resolved = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/tickets/{}", ids[0]),
            Some(&admin.access_token),
            Some(&json!({"status": "resolved"})),
        )
        .await;
    json_of(resolved, 200).await;
    let t = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/tickets/{}", ids[2]),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(assignee(&t).as_deref(), Some(freed.as_str()));

    // Snoozing needs a time ahead; a snoozed ticket frees its agent too.
    let past = app
        .call(
            Method::PATCH,
            &format!("/api/v1/admin/tickets/{}", ids[1]),
            Some(&admin.access_token),
            Some(&json!({"status": "snoozed", "snoozed_until": "2020-01-01T00:00:00Z"})),
        )
        .await;
    json_of(past, 422).await;
    let agents = json_of(
        app.call(
            Method::GET,
            "/api/v1/admin/support/agents",
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    let loads: Vec<i64> = agents
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["open_tickets"].as_i64())
        .collect();
    assert_eq!(loads, vec![1, 1]);

    // The customer sees their own tickets, without staff's workings.
    let mine = json_of(
        app.call(
            Method::GET,
            "/api/v1/support/tickets",
            Some(&customer.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(mine["data"].as_array().expect("data").len(), 3);
    assert!(mine["data"][0]["assignee_id"].is_null());
    // And not another's.
    let other = app.customer().await;
    let theirs = app
        .call(
            Method::GET,
            &format!("/api/v1/support/tickets/{}", ids[0]),
            Some(&other.access_token),
            None,
        )
        .await;
    assert_eq!(theirs.status(), 404);

    // Merging: the second ticket's messages move to the first, which the link now names.
    let merged = app
        .call(
            Method::POST,
            &format!("/api/v1/admin/tickets/{}/merge", ids[1]),
            Some(&admin.access_token),
            Some(&json!({"into": ids[0]})),
        )
        .await;
    let into = json_of(merged, 200).await;
    assert_eq!(into["messages"].as_array().expect("messages").len(), 2);
    let seqs: Vec<i64> = into["messages"]
        .as_array()
        .expect("m")
        .iter()
        .filter_map(|m| m["seq"].as_i64())
        .collect();
    assert_eq!(seqs, vec![1, 2]);
    let source = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/support/tickets/{}", ids[1]),
            Some(&customer.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(source["merged_into"], ids[0].as_str());
    assert_eq!(source["status"], "closed");
    // A message to the merged ticket lands in the one it was merged into.
    let written = app
        .call(
            Method::POST,
            &format!("/api/v1/support/tickets/{}/messages", ids[1]),
            Some(&customer.access_token),
            Some(&json!({"body": "Any news?"})),
        )
        .await;
    json_of(written, 201).await;
    let into = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/tickets/{}", ids[0]),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(into["messages"].as_array().expect("messages").len(), 3);
    assert_eq!(into["status"], "open");
}

#[tokio::test]
async fn a_shopper_writes_from_the_shop_and_an_agent_answers_from_the_console() {
    use crate::admin::{screenshot, sign_in};
    use emporium_testkit::browser::{Browser, click, fill, press, text_of};
    let app = helpdesk().await;
    let admin = app.admin().await;
    Browser::run(|b| async move {
        // The shopper, a guest, writes from the shop's footer link.
        b.goto(&app.url("/")).await.expect("home");
        click(&b, "#contact-link").await;
        fill(&b, "#support-email", "jane@example.com").await;
        fill(&b, "#support-name", "Jane Doe").await;
        fill(&b, "#support-subject", "Gift wrapping").await;
        fill(&b, "#support-body", "Can you wrap my order as a gift?").await;
        click(&b, "#support-send").await;
        let heading = text_of(&b, "h1").await;
        assert!(heading.ends_with("Gift wrapping"), "{heading}");
        let link = b.current_url().await.expect("url").to_string();
        assert!(link.contains("token="), "{link}");
        let id = link
            .split("/support/tickets/")
            .nth(1)
            .and_then(|rest| rest.split('?').next())
            .expect("id")
            .to_string();

        // An agent adds a canned reply, finds the ticket in the queue and answers.
        sign_in(&b, &app, &admin, "/admin/tickets/settings").await;
        fill(&b, "#canned-title", "Gift wrap").await;
        fill(
            &b,
            "#canned-body",
            "Hello {{customer.first_name}}, gladly, at no charge.",
        )
        .await;
        click(&b, "#add-canned").await;
        assert!(text_of(&b, "#done").await.contains("Gift wrap"));
        fill(&b, "#first-normal", "120").await;
        click(&b, "form[action='/admin/tickets/sla/normal'] button").await;
        assert!(text_of(&b, "#done").await.contains("normal priority"));
        b.goto(&app.url("/admin/tickets")).await.expect("queue");
        assert!(text_of(&b, "#tickets").await.contains("Gift wrapping"));
        b.goto(&app.url(&format!("/admin/tickets/{id}")))
            .await
            .expect("ticket");
        assert!(
            text_of(&b, "#messages")
                .await
                .contains("Can you wrap my order")
        );
        assert!(!text_of(&b, "#response-due").await.is_empty());
        click(&b, "#use-canned").await;
        click(&b, "#send").await;
        assert!(text_of(&b, "#done").await.contains("Reply sent"));
        fill(&b, "#reply-body", "Use the red paper.").await;
        press(&b, "#internal").await;
        click(&b, "#send").await;
        assert!(text_of(&b, "#done").await.contains("Note kept"));
        let conversation = text_of(&b, "#messages").await;
        assert!(
            conversation.contains("Hello Jane, gladly, at no charge."),
            "{conversation}"
        );
        assert!(conversation.contains("internal note"));
        screenshot(&b, "console-ticket.png").await;

        // The shopper reads the answer (never the note); the page is live: what the agent
        // sends next appears without a reload, and the shopper's answer goes through the
        // socket.
        b.goto(&link).await.expect("ticket page");
        let seen = text_of(&b, "#conversation").await;
        assert!(seen.contains("Hello Jane, gladly, at no charge."), "{seen}");
        assert!(!seen.contains("red paper"), "{seen}");
        assert_eq!(text_of(&b, "#ticket-status").await, "pending");
        eventually(&b, "#conversation[data-live]", "").await;
        let live = app
            .call(
                Method::POST,
                &format!("/api/v1/admin/tickets/{id}/messages"),
                Some(&admin.access_token),
                Some(&json!({"body": "Your parcel leaves tomorrow."})),
            )
            .await;
        json_of(live, 201).await;
        eventually(&b, "#conversation", "Your parcel leaves tomorrow.").await;
        fill(&b, "#support-reply-body", "Wonderful, thank you!").await;
        press(&b, "#support-reply-send").await;
        eventually(&b, "#conversation", "Wonderful, thank you!").await;
        let ticket = json_of(
            app.call(
                Method::GET,
                &format!("/api/v1/admin/tickets/{id}"),
                Some(&admin.access_token),
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(ticket["status"], "open");
        assert_eq!(
            ticket["messages"]
                .as_array()
                .expect("messages")
                .last()
                .expect("last")["channel"],
            "chat"
        );
    })
    .await;
}

#[tokio::test]
async fn a_missed_service_level_is_flagged_once_and_the_team_is_told() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Box::new(|c| c.store.staff_email = Some("team@shop.example".into())),
        ..TestOptions::default()
    })
    .await;
    let admin = app.admin().await;
    let zero = app
        .call(
            Method::PUT,
            "/api/v1/admin/support/sla/normal",
            Some(&admin.access_token),
            Some(&json!({"first_response_minutes": 0})),
        )
        .await;
    assert_eq!(
        json_of(zero, 422).await["errors"][0]["field"],
        "first_response_minutes"
    );
    let policy = app
        .call(
            Method::PUT,
            "/api/v1/admin/support/sla/normal",
            Some(&admin.access_token),
            Some(
                &json!({"first_response_minutes": 60, "next_response_minutes": 30,
                     "resolution_minutes": 600, "business_hours": false}),
            ),
        )
        .await;
    json_of(policy, 200).await;
    let customer = app.customer().await;
    let opened = json_of(
        app.call(
            Method::POST,
            "/api/v1/support/tickets",
            Some(&customer.access_token),
            Some(&json!({"subject": "Late parcel", "body": "Where is it?"})),
        )
        .await,
        201,
    )
    .await;
    let id = opened["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/admin/tickets/{id}");
    let view = json_of(
        app.call(Method::GET, &path, Some(&admin.access_token), None)
            .await,
        200,
    )
    .await;
    let created =
        chrono::DateTime::parse_from_rfc3339(view["created_at"].as_str().expect("created"))
            .expect("time");
    let due = chrono::DateTime::parse_from_rfc3339(view["response_due"].as_str().expect("due"))
        .expect("time");
    assert_eq!((due - created).num_minutes(), 60);
    app.drain_outbox().await;
    let before = app.smtp.mails().len();

    // The clock is the sweep's argument: half an hour on, nothing is late.
    let support = app.state().support.clone();
    let now = chrono::Utc::now();
    assert_eq!(
        support
            .check_sla(now + chrono::Duration::minutes(30))
            .await
            .expect("check"),
        0
    );
    assert_eq!(
        support
            .check_sla(now + chrono::Duration::minutes(61))
            .await
            .expect("check"),
        1
    );
    assert_eq!(
        support
            .check_sla(now + chrono::Duration::minutes(62))
            .await
            .expect("check"),
        0,
        "flagged once"
    );
    app.drain_outbox().await;
    let mails = app.smtp.wait_for(before + 1, 5).await;
    let notice = mails.last().expect("notice");
    assert_eq!(notice.to, vec!["team@shop.example".to_string()]);
    assert!(
        notice.subject().contains("first response is overdue"),
        "{}",
        notice.subject()
    );
    let view = json_of(
        app.call(Method::GET, &path, Some(&admin.access_token), None)
            .await,
        200,
    )
    .await;
    assert_eq!(view["sla_breaches"], json!(["response"]));
    assert!(
        view["history"]
            .as_array()
            .expect("history")
            .iter()
            .any(|h| h["action"] == "sla_breached")
    );

    // Answered: no answer is due; the customer writes again: the next one is, 30 min on.
    let reply = app
        .call(
            Method::POST,
            &format!("{path}/messages"),
            Some(&admin.access_token),
            Some(&json!({"body": "On its way."})),
        )
        .await;
    json_of(reply, 201).await;
    let view = json_of(
        app.call(Method::GET, &path, Some(&admin.access_token), None)
            .await,
        200,
    )
    .await;
    assert!(view["response_due"].is_null(), "{}", view["response_due"]);
    let again = app
        .call(
            Method::POST,
            &format!("/api/v1/support/tickets/{id}/messages"),
            Some(&customer.access_token),
            Some(&json!({"body": "Still nothing."})),
        )
        .await;
    let written = json_of(again, 201).await;
    let view = json_of(
        app.call(Method::GET, &path, Some(&admin.access_token), None)
            .await,
        200,
    )
    .await;
    let at = chrono::DateTime::parse_from_rfc3339(written["created_at"].as_str().expect("at"))
        .expect("time");
    let due = chrono::DateTime::parse_from_rfc3339(view["response_due"].as_str().expect("due"))
        .expect("time");
    assert_eq!((due - at).num_minutes(), 30);
    // Eleven hours on, the next answer and the resolution are both late.
    assert_eq!(
        support
            .check_sla(now + chrono::Duration::hours(11))
            .await
            .expect("check"),
        2
    );
    // Resolved: nothing is due any more.
    let done = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin.access_token),
            Some(&json!({"status": "resolved"})),
        )
        .await;
    let view = json_of(done, 200).await;
    assert!(view["response_due"].is_null() && view["resolution_due"].is_null());
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(http_url: String, bearer: Option<&str>) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = http_url.replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().expect("request");
    if let Some(token) = bearer {
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .expect("socket opens")
        .0
}

/// The next frame of `kind` (`message`, `typing`), skipping others; `None` when nothing
/// comes within `ms`.
async fn next_of(ws: &mut Socket, kind: &str, ms: u64) -> Option<Value> {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next()).await.ok()??;
        if let Ok(tokio_tungstenite::tungstenite::Message::Text(text)) = frame {
            let value: Value = serde_json::from_str(&text).expect("json frame");
            if value["type"] == kind {
                return Some(value);
            }
        }
    }
}

async fn say(ws: &mut Socket, frame: Value) {
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        frame.to_string().into(),
    ))
    .await
    .expect("sent");
}

#[tokio::test]
async fn a_chat_crosses_nodes_and_a_reconnect_gets_exactly_what_it_missed() {
    let app = helpdesk().await;
    let admin = app.admin().await;
    // On PostgreSQL the agent sits on another node; SQLite is one node (in-process).
    let sibling = match app.db().backend() {
        emporium_db::Backend::Postgres => Some(app.sibling().await),
        emporium_db::Backend::Sqlite => None,
    };
    let agent_url = |path: &str| match &sibling {
        Some(node) => node.url(path),
        None => app.url(path),
    };
    let chat = json_of(
        app.request(Method::POST, "/api/v1/support/chats")
            .json(&json!({"body": "Hi! Does the hat come in navy?", "email": "jane@example.com", "name": "Jane"}))
            .send()
            .await
            .expect("sent"),
        201,
    )
    .await;
    let id = chat["id"].as_str().expect("id").to_string();
    let token = chat["token"].as_str().expect("token").to_string();
    let shopper_path = format!("/api/v1/support/chat?ticket={id}&token={token}");
    let mut shopper = socket(app.url(&shopper_path), None).await;
    let mut agent = socket(
        agent_url(&format!("/api/v1/admin/support/chat?ticket={id}")),
        Some(&admin.access_token),
    )
    .await;
    assert_eq!(
        next_of(&mut shopper, "message", 5000)
            .await
            .expect("backlog")["seq"],
        1
    );
    let first = next_of(&mut agent, "message", 5000).await.expect("backlog");
    assert_eq!(first["body"], "Hi! Does the hat come in navy?");

    // Typing and messages both ways, across nodes.
    say(&mut agent, json!({"type": "typing"})).await;
    let typing = next_of(&mut shopper, "typing", 5000).await.expect("typing");
    assert_eq!(typing["author"], "staff");
    say(
        &mut agent,
        json!({"type": "message", "body": "Hello Jane, it does."}),
    )
    .await;
    let got = next_of(&mut shopper, "message", 5000)
        .await
        .expect("agent's message");
    assert_eq!(
        (got["seq"].as_i64(), got["author"].as_str()),
        (Some(2), Some("staff"))
    );
    assert!(
        got["author_name"].is_null(),
        "the shopper does not see staff addresses"
    );
    assert_eq!(
        next_of(&mut agent, "message", 5000).await.expect("echo")["seq"],
        2
    );
    say(
        &mut shopper,
        json!({"type": "message", "body": "Great, one please."}),
    )
    .await;
    assert_eq!(
        next_of(&mut agent, "message", 5000)
            .await
            .expect("shopper's")["body"],
        "Great, one please."
    );
    assert_eq!(
        next_of(&mut shopper, "message", 5000).await.expect("echo")["seq"],
        3
    );
    say(&mut shopper, json!({"type": "message", "body": ""})).await;
    assert!(next_of(&mut shopper, "error", 5000).await.is_some());

    // The shopper drops off; two messages are sent meanwhile; they come back on the
    // agent's node and receive exactly those two, in order, and nothing else.
    drop(shopper);
    say(
        &mut agent,
        json!({"type": "message", "body": "Shipped today."}),
    )
    .await;
    say(
        &mut agent,
        json!({"type": "message", "body": "Anything else?"}),
    )
    .await;
    assert_eq!(
        next_of(&mut agent, "message", 5000).await.expect("echo")["seq"],
        4
    );
    assert_eq!(
        next_of(&mut agent, "message", 5000).await.expect("echo")["seq"],
        5
    );
    let mut back = socket(agent_url(&format!("{shopper_path}&after=3")), None).await;
    let missed: Vec<(i64, String)> = [
        next_of(&mut back, "message", 5000).await.expect("missed 4"),
        next_of(&mut back, "message", 5000).await.expect("missed 5"),
    ]
    .iter()
    .map(|m| {
        (
            m["seq"].as_i64().unwrap_or(0),
            m["body"].as_str().unwrap_or("").to_string(),
        )
    })
    .collect();
    assert_eq!(
        missed,
        vec![
            (4, "Shipped today.".to_string()),
            (5, "Anything else?".to_string())
        ]
    );
    assert!(
        next_of(&mut back, "message", 400).await.is_none(),
        "nothing twice"
    );

    // A wrong token opens nothing; the chat is a ticket, and chat answers are not emailed.
    let wrong = app
        .url(&format!("/api/v1/support/chat?ticket={id}&token=nope"))
        .replacen("http://", "ws://", 1);
    match tokio_tungstenite::connect_async(wrong).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404)
        }
        other => panic!("a wrong token opened a socket: {:?}", other.map(|_| ())),
    }
    let ticket = json_of(
        app.call(
            Method::GET,
            &format!("/api/v1/admin/tickets/{id}"),
            Some(&admin.access_token),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ticket["channel"], "chat");
    assert_eq!(ticket["messages"].as_array().expect("messages").len(), 5);
    app.drain_outbox().await;
    let to_jane = app.smtp.mails_to("jane@example.com");
    assert_eq!(to_jane.len(), 1, "only the receipt");
}
