//! HTTP-level integration tests: the real server, a fresh database per test, on SQLite by
//! default and on PostgreSQL when `EMPORIUM_TEST_DATABASE_URL` is set.

mod accounts;
mod admin;
mod admin_users;
mod analytics;
mod backup;
mod catalog;
mod checkout;
mod collections;
mod feeds;
mod foundation;
mod helpdesk;
mod import;
mod inventory;
mod media;
mod oauth;
mod outbox;
mod pages;
mod payments;
mod promotions;
mod reviews;
mod search;
mod shipping;
mod shop_account;
mod stock;
mod storefront;
mod support;
mod sweep;
mod walkthrough;
mod webhooks;
