//! `pass-emploi-server`: serve (default), migrate, user create.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::Parser;
use server::config::{Cli, Command, RoleArg, UserCommand, WebPushCommand, redact_url};
use server::demo::{DEMO_PASSWORD, create_staff};
use server::notifications::delivery;
use server::notifications::fcm::{FcmChannel, FcmClient};
use server::notifications::push::PushChannel;
use server::{AppState, app, store};
use sync_core::model::Role;
use uuid::Uuid;

/// How long a stopping server waits for its sync sessions to close.
const SESSIONS_CLOSE_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Completes on SIGTERM or Ctrl-C (SIGINT). The SIGTERM handler is installed when this is called,
/// not when the future is first polled: a SIGTERM in between would otherwise kill the process.
fn stop_requested() -> impl std::future::Future<Output = ()> {
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        match terminate {
            Ok(mut terminate) => tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
                _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received"),
            },
            Err(e) => {
                tracing::warn!(error = %e, "SIGTERM cannot be watched: only Ctrl-C stops the server gracefully");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = cli.config;
    tracing::info!(?config, "configuration");
    let store = store::open(config.database_url.as_deref(), &config.data_dir).await.with_context(|| {
        match &config.database_url {
            Some(url) => format!("opening {}", redact_url(url)),
            None => format!("opening {}", config.data_dir.display()),
        }
    })?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Migrate => {
            println!("migrations applied ({})", store.backend());
            Ok(())
        }
        Command::User(UserCommand::Create { role, email, password_stdin, structure, first_name, last_name }) => {
            let state = AppState::new(store.clone(), config)?;
            let role = match role {
                RoleArg::YoungPerson => Role::YoungPerson,
                RoleArg::Adviser => Role::Adviser,
                RoleArg::Supervisor => Role::Supervisor,
                RoleArg::Admin => Role::Admin,
            };
            if !password_stdin {
                anyhow::bail!("--password-stdin is required (the password is never taken from the command line)");
            }
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            server::routes::auth::check_password(&password).map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
            let structure_id = match structure {
                None => None,
                Some(name) => Some(match state.store.structure_by_name(&name).await? {
                    Some(id) => id,
                    None => {
                        let id = Uuid::new_v4();
                        state.store.create_structure(id, &name, Utc::now()).await?;
                        id
                    }
                }),
            };
            let id = if role == Role::YoungPerson {
                let structure_id = structure_id.context("a young person needs --structure")?;
                let hash = state.passwords.hash(password).await?;
                // No adviser yet: a supervisor attaches them with a transfer.
                let (id, _) = server::demo::create_young_person(
                    &state,
                    &email,
                    &first_name,
                    &last_name,
                    structure_id,
                    None,
                    Some(hash),
                )
                .await?;
                id
            } else {
                create_staff(&state, role, &email, &first_name, &last_name, structure_id, &password).await?
            };
            println!("{id}");
            Ok(())
        }
        Command::WebPush(WebPushCommand::Test { email }) => {
            let state = AppState::new(store.clone(), config)?;
            let user = state.store.user_by_email(&email).await?.context("no such user")?;
            let delivery = server::notifications::webpush::send_test(&state, user.id, Utc::now()).await;
            println!("{delivery:?}");
            if delivery != server::notifications::push::Delivery::Sent {
                anyhow::bail!("the test notification was not accepted by any push service");
            }
            Ok(())
        }
        Command::Serve { demo } => {
            if config.metrics_token.is_none() {
                tracing::warn!("/metrics is open to anyone who reaches the server: set --metrics-token in deployments");
            }
            let state = AppState::new(store, config.clone())?;
            // Web Push: the VAPID key pair is generated on the first start and kept in the database.
            let vapid = state.web_push.keys(state.store.as_ref()).await.context("VAPID keys")?;
            tracing::info!(public_key = vapid.public_key(), "web push: VAPID key pair ready");
            if demo {
                match server::demo::seed(&state).await? {
                    Some(logins) => {
                        println!(
                            "Démonstration « {} » — mot de passe commun : {DEMO_PASSWORD}",
                            server::demo::DEMO_STRUCTURE
                        );
                        for l in logins {
                            println!("  {:<13} {:<45} {}", l.role.as_str(), l.email, l.name);
                        }
                    }
                    None => println!("--demo: the database already holds accounts; nothing seeded"),
                }
            }
            state.documents.clone().follow_other_instances().await.context("listening for other instances")?;
            state.conversations.clone().follow_other_instances().await.context("listening for other instances")?;
            // --- delivery (issue 6) ---
            // The push channels the workers deliver: FCM for the phones (when configured).
            let mut channels: Vec<Arc<dyn PushChannel>> = Vec::new();
            match FcmClient::from_config(&config.fcm).context("FCM configuration")? {
                Some(client) => channels.push(Arc::new(FcmChannel::new(client))),
                None => {
                    tracing::warn!("FCM: no service-account key (--fcm-credentials): phone pushes wait, then expire")
                }
            }
            // Web Push for the advisers' browsers (`web` rows); its VAPID keys were loaded above.
            channels.push(state.web_push.clone());
            let settings =
                delivery::Settings::new(&config.delivery, state.store.backend()).with_retention(&config.retention);
            println!("{}", settings.retention.describe());
            let running = delivery::start(state.store.clone(), channels, settings, Arc::new(delivery::SystemClock));
            let stop = stop_requested();
            let listener = tokio::net::TcpListener::bind(config.listen).await?;
            println!("listening on http://{}", listener.local_addr()?);
            let limits = server::listener::Limits::from_config(&config.http);
            let hub = state.hub.clone();
            // SIGTERM (what container platforms send) or Ctrl-C: stop accepting and let the requests
            // in flight finish (their commits with them), close the sync sessions with « going
            // away » once their frame in flight is handled, then let the delivery workers settle
            // the rows they claimed.
            server::listener::serve(listener, app(state), limits, stop).await?;
            tracing::info!("stopping: no new connections; closing the sync sessions");
            hub.close_all_sessions(SESSIONS_CLOSE_WITHIN).await;
            running.stop().await;
            tracing::info!("stopped");
            Ok(())
        }
    }
}
