//! Signed-in users for tests: customers through the real registration and login routes,
//! admins and staff through the same service `emporium admin create` uses.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::TestApp;

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// The password every test user gets unless a test chooses one.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// A unique email for this test.
    pub fn unique_email(&self, prefix: &str) -> String {
        format!("{prefix}-{}@example.com", Uuid::now_v7().simple())
    }

    /// Registers a customer through `POST /auth/register`; answers the created user.
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let response = self
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": email, "password": password, "name": "Test User"}),
            )
            .await;
        assert_eq!(response.status(), 201, "register {email}");
        response.json().await.expect("user json")
    }

    /// Logs in through `POST /auth/login` (no second factor).
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let response = self
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "login {email}");
        let tokens: Value = response.json().await.expect("tokens");
        let me: Value = self
            .call(
                Method::GET,
                "/api/v1/me",
                tokens["access_token"].as_str(),
                None,
            )
            .await
            .json()
            .await
            .expect("me");
        Session {
            user_id: me["id"].as_str().expect("id").to_string(),
            email: email.to_string(),
            password: password.to_string(),
            access_token: tokens["access_token"].as_str().expect("access").to_string(),
            refresh_token: tokens["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_string(),
        }
    }

    /// A new signed-in customer.
    pub async fn customer(&self) -> Session {
        let email = self.unique_email("customer");
        self.register(&email, PASSWORD).await;
        self.login(&email, PASSWORD).await
    }

    /// A new signed-in admin.
    pub async fn admin(&self) -> Session {
        let email = self.unique_email("admin");
        self.state()
            .accounts
            .create_admin(&email, PASSWORD, false)
            .await
            .expect("admin created");
        self.login(&email, PASSWORD).await
    }

    /// A new signed-in staff member holding `permissions`.
    pub async fn staff(&self, permissions: &[&str]) -> Session {
        let admin = self.admin().await;
        let customer = self.customer().await;
        let response = self
            .call(
                Method::PATCH,
                &format!("/api/v1/admin/users/{}", customer.user_id),
                Some(&admin.access_token),
                Some(&json!({"role": "staff", "permissions": permissions})),
            )
            .await;
        assert_eq!(response.status(), 200, "make staff");
        self.login(&customer.email, &customer.password).await
    }
}
