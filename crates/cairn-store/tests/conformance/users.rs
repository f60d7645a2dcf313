//! Organisations, users (`UserStore`) and their API tokens (`TokenStore`).

use cairn_store::sqlite::users::UserError;
use chrono::{Duration, Utc};

use super::*;

fn names<T>(v: Vec<T>, name: impl Fn(T) -> String) -> Vec<String> {
    v.into_iter().map(name).collect()
}

/// `add_organisation`, `list_organisations`, `add_user`, `get_user`, `list_users`,
/// `disable_user`.
pub fn organisations_and_users_follow_their_rules(s: &mut dyn Backend) {
    assert!(s.list_organisations().unwrap().is_empty());
    assert!(s.list_users().unwrap().is_empty());
    let op = s.add_organisation("Operator A").unwrap();
    assert_eq!(op.name, "Operator A");
    s.add_organisation("  Authority  ").unwrap();
    assert!(matches!(
        s.add_organisation("Operator A"),
        Err(UserError::OrganisationExists(_))
    ));
    assert!(matches!(s.add_organisation(" "), Err(UserError::Empty(_))));
    assert_eq!(
        names(s.list_organisations().unwrap(), |o| o.name),
        ["Authority", "Operator A"]
    );
    assert_eq!(
        s.list_organisations().unwrap()[1],
        op,
        "listed as it was added"
    );

    assert!(matches!(
        s.add_user("Team 7", "field", None),
        Err(UserError::FieldNeedsOrganisation)
    ));
    assert!(matches!(
        s.add_user("Team 7", "field", Some("Nobody")),
        Err(UserError::NoOrganisation(_))
    ));
    assert!(matches!(
        s.add_user("Team 7", "emperor", None),
        Err(UserError::BadRole(_))
    ));
    assert!(matches!(
        s.add_user("  ", "officer", None),
        Err(UserError::Empty(_))
    ));
    assert!(s.list_users().unwrap().is_empty(), "refusals add nobody");
    let u = s.add_user("Team 7", "field", Some("Operator A")).unwrap();
    assert_eq!(
        (
            u.name.as_str(),
            u.role.as_str(),
            u.organisation.as_deref(),
            u.disabled_at
        ),
        ("Team 7", "field", Some("Operator A"), None)
    );
    assert!(matches!(
        s.add_user("Team 7", "officer", None),
        Err(UserError::UserExists(_))
    ));
    let olena = s.add_user("Olena", "officer", Some("Authority")).unwrap();
    s.add_user("Petro", "auditor", None).unwrap();
    assert_eq!(
        names(s.list_users().unwrap(), |u| u.name),
        ["Olena", "Petro", "Team 7"]
    );
    assert_eq!(s.get_user("Team 7").unwrap(), Some(u.clone()));
    assert_eq!(s.get_user("Olena").unwrap(), Some(olena));
    assert!(s.get_user("Nobody").unwrap().is_none());

    // Disabled once, for good; the first time is kept.
    let d = s.disable_user("Team 7").unwrap();
    let when = d.disabled_at.expect("disabled");
    assert_eq!((d.id, d.name.as_str()), (u.id, "Team 7"));
    assert!(matches!(
        s.disable_user("Team 7"),
        Err(UserError::Disabled(_))
    ));
    assert!(matches!(
        s.disable_user("Nobody"),
        Err(UserError::NoUser(_))
    ));
    assert_eq!(
        s.get_user("Team 7").unwrap().unwrap().disabled_at,
        Some(when)
    );
    assert_eq!(s.get_user("Petro").unwrap().unwrap().disabled_at, None);
}

/// `create_user_token`, `find_token`, `list_tokens`, `revoke_token`.
pub fn tokens_belong_to_users_and_stop_when_revoked_disabled_or_expired(s: &mut dyn Backend) {
    assert!(s.list_tokens().unwrap().is_empty());
    s.add_organisation("Operator A").unwrap();
    let team = s.add_user("Team 7", "field", Some("Operator A")).unwrap();
    assert!(matches!(
        s.create_user_token("Nobody", None),
        Err(UserError::NoUser(_))
    ));
    let (secret, info) = s.create_user_token("Team 7", None).unwrap();
    assert!(
        secret.starts_with("cairn_") && secret.len() == 70,
        "{secret}"
    );
    assert_eq!(
        (
            info.name.as_str(),
            info.user_id,
            info.role.as_str(),
            info.organisation.as_deref(),
            info.expires_at,
            info.revoked_at
        ),
        ("Team 7", team.id, "field", Some("Operator A"), None, None)
    );
    let found = s.find_token(&secret).unwrap().unwrap();
    assert_eq!(found, info);
    assert!(found.is_valid_at(Utc::now()));
    assert!(s.find_token("cairn_nope").unwrap().is_none());

    // Expired, revoked (once), and stopped with the user.
    s.add_user("Olena", "officer", None).unwrap();
    let soon = Utc::now() + Duration::hours(1);
    let (old, old_info) = s
        .create_user_token("Olena", Some(Utc::now() - Duration::seconds(1)))
        .unwrap();
    assert_eq!(
        s.find_token(&old).unwrap().unwrap().state_at(Utc::now()),
        "expired"
    );
    let (t, t_info) = s.create_user_token("Olena", Some(soon)).unwrap();
    assert_eq!(
        s.find_token(&t)
            .unwrap()
            .unwrap()
            .expires_at
            .map(|e| e.timestamp_micros()),
        Some(soon.timestamp_micros())
    );
    assert!(s.revoke_token(t_info.id).unwrap());
    assert!(!s.revoke_token(t_info.id).unwrap());
    assert!(!s.revoke_token(9_999).unwrap());
    let revoked = s.find_token(&t).unwrap().unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(revoked.state_at(Utc::now()), "revoked");
    s.disable_user("Team 7").unwrap();
    assert_eq!(
        s.find_token(&secret).unwrap().unwrap().state_at(Utc::now()),
        "user disabled"
    );
    assert!(matches!(
        s.create_user_token("Team 7", None),
        Err(UserError::Disabled(_))
    ));
    let all = s.list_tokens().unwrap();
    assert_eq!(
        all.iter().map(|t| t.id).collect::<Vec<_>>(),
        [info.id, old_info.id, t_info.id]
    );
    assert_eq!(
        all.iter()
            .map(|t| t.state_at(Utc::now()))
            .collect::<Vec<_>>(),
        ["user disabled", "expired", "revoked"]
    );
}

/// `create_token`, the older form.
pub fn the_older_token_form_makes_or_reuses_a_user(s: &mut dyn Backend) {
    let (a_secret, a) = s
        .create_token("Olena", "officer", Some("IMO"), None)
        .unwrap();
    let (_, b) = s
        .create_token("Olena", "officer", Some("IMO"), None)
        .unwrap();
    assert_eq!(a.user_id, b.user_id);
    assert_ne!(a.id, b.id);
    assert_eq!(
        (a.name.as_str(), a.role.as_str(), a.organisation.as_deref()),
        ("Olena", "officer", Some("IMO"))
    );
    assert_eq!(s.find_token(&a_secret).unwrap(), Some(a.clone()));
    assert_eq!(names(s.list_organisations().unwrap(), |o| o.name), ["IMO"]);
    assert_eq!(s.get_user("Olena").unwrap().unwrap().id, a.user_id);
    assert!(matches!(
        s.create_token("Olena", "admin", Some("IMO"), None),
        Err(UserError::Mismatch { .. })
    ));
    assert!(matches!(
        s.create_token("Olena", "officer", None, None),
        Err(UserError::Mismatch { .. })
    ));
    let orgs = s.list_organisations().unwrap().len();
    assert!(matches!(
        s.create_token("Petro", "emperor", Some("Ghost Org"), None),
        Err(UserError::BadRole(_))
    ));
    assert_eq!(
        s.list_organisations().unwrap().len(),
        orgs,
        "a refused request leaves no organisation behind"
    );
    assert_eq!(s.list_users().unwrap().len(), 1);
    assert_eq!(s.list_tokens().unwrap().len(), 2);
    // A user of the older form with no organisation.
    let (_, c) = s.create_token("Petro", "auditor", None, None).unwrap();
    assert_eq!((c.name.as_str(), c.organisation), ("Petro", None));
    assert_eq!(s.list_users().unwrap().len(), 2);
}
