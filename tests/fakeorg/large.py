"""A generated enterprise org: hundreds of apps, tens of thousands of users and OAuth tokens.

`large_scenario()` describes the org as plain data (who has which profile, assignment, token and
login); `large_org(scenario)` loads it into a FakeOrgData. Tests compute what `ca-audit access`
should answer from the description alone, never from ca-audit's code.

What it holds, by default: 300 connected apps (about 60 % admin-approved, granted to permission
sets, permission set groups — directly or through a member permission set — and a few profiles),
20,000 users (inactive and frozen ones among them), assignments that expired or expire later,
30,000 OAuth tokens with one app holding more than 2,500 of them, tokens of an app that is not
installed, and OAuth logins in the last 90 days (and older ones, failed ones and other login types
that must not count).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from .build import NOW, connected_app_xml, sf_datetime
from .org import PERMISSIONS, FakeOrgData

DOMAIN = "bigcorp.example"
PROFILES = ("System Administrator", "Standard User", "Sales User", "Support User",
            "Minimum Access - API Only Integrations")
BIG_APP = 7  # the app holding more than 2,500 tokens
UNINSTALLED_APP = "Shadow Export Tool"
OAUTH_LOGIN = "Remote Access 2.0"


@dataclass
class User:
    username: str
    profile: str
    active: bool
    frozen: bool


@dataclass
class Assignment:
    username: str
    permission_set: str | None  # a permission set, or None for a group assignment
    group: str | None
    expires: dt.date | None


@dataclass
class AppSpec:
    name: str
    label: str
    admin_approved: bool
    profiles: list[str] = field(default_factory=list)
    permission_sets: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # granted through the group's aggregate permission set


@dataclass
class Token:
    app_label: str
    username: str
    created: dt.datetime
    last_used: dt.datetime | None


@dataclass
class Login:
    app_label: str
    username: str
    time: dt.datetime
    login_type: str
    status: str


@dataclass
class Scenario:
    users: list[User]
    permission_sets: list[str]
    groups: dict[str, list[str]]  # group -> member permission sets
    assignments: list[Assignment]
    apps: list[AppSpec]
    tokens: list[Token]
    logins: list[Login]
    now: dt.datetime = NOW


def large_scenario(apps: int = 300, users: int = 20_000, tokens: int = 30_000, big_app_tokens: int = 3_200,
                   logins: int = 4_000, seed: int = 11) -> Scenario:
    rng = random.Random(seed)
    today = NOW.date()
    people = []
    for i in range(users):
        profile = rng.choices(PROFILES, weights=(1, 70, 15, 10, 4))[0]
        active = rng.random() > 0.08
        frozen = rng.random() < 0.03
        people.append(User(f"user{i:05d}@{DOMAIN}", profile, active, frozen))
    sets = [f"PS_{i:03d}" for i in range(200)]
    groups = {f"GRP_{i:02d}": rng.sample(sets[:50], 3) for i in range(12)}
    assignments = []
    for person in people:
        for ps in rng.sample(sets, rng.choice((0, 1, 1, 2))):
            roll = rng.random()
            expires = today - dt.timedelta(days=rng.randint(1, 300)) if roll < 0.06 else \
                today + dt.timedelta(days=rng.randint(1, 300)) if roll < 0.12 else None
            assignments.append(Assignment(person.username, ps, None, expires))
        if rng.random() < 0.05:
            expired = rng.random() < 0.1
            assignments.append(Assignment(person.username, None, rng.choice(sorted(groups)),
                                          today - dt.timedelta(days=3) if expired else None))
    specs = []
    for i in range(apps):
        spec = AppSpec(f"Big_App_{i:03d}", f"Big App {i:03d}", admin_approved=rng.random() < 0.6)
        if spec.admin_approved:
            spec.permission_sets = rng.sample(sets, rng.choice((1, 1, 2)))
            if i % 25 == 3:
                spec.profiles = ["Support User"]
            if i % 30 == 5:
                spec.groups = [rng.choice(sorted(groups))]
            if i % 7 == 0:  # granted a permission set that is also inside a group
                spec.permission_sets.append(rng.choice(groups[rng.choice(sorted(groups))]))
            spec.permission_sets = sorted(set(spec.permission_sets))
        specs.append(spec)
    specs[BIG_APP].admin_approved = False  # a self-authorized app everyone uses
    specs[BIG_APP].permission_sets = []

    def when(days_back: int) -> dt.datetime:
        return (NOW - dt.timedelta(days=days_back, seconds=rng.randint(0, 86_399))).replace(microsecond=0)

    active_users = [p for p in people if p.active]
    token_rows = []
    for person in rng.sample(active_users, big_app_tokens):
        token_rows.append(Token(specs[BIG_APP].label, person.username, when(rng.randint(0, 700)),
                                when(rng.randint(0, 30))))
    for _ in range(40):
        token_rows.append(Token(UNINSTALLED_APP, rng.choice(active_users).username, when(rng.randint(100, 400)),
                                when(rng.randint(0, 60))))
    # A third of the apps have tokens last used more than 90 days ago only (dormant by tokens).
    stale = {i for i in range(apps) if i % 3 == 1 and i != BIG_APP}
    while len(token_rows) < tokens:
        index = rng.randrange(apps)
        if index == BIG_APP:
            continue
        days = rng.randint(91, 500) if index in stale else rng.randint(0, 120)
        last = None if rng.random() < 0.05 else when(days)
        token_rows.append(Token(specs[index].label, rng.choice(people).username, when(rng.randint(days, 800)), last))
    login_rows = []
    for n in range(logins):
        index = rng.randrange(apps)
        kind = n % 10
        days = rng.randint(0, 89) if kind < 7 else rng.randint(92, 200)  # some outside the window
        login_type = "Application" if kind == 7 else OAUTH_LOGIN
        status = "Invalid Password" if kind == 8 else "Success"
        login_rows.append(Login(specs[index].label, rng.choice(active_users).username, when(days), login_type,
                                status))
    return Scenario(people, sets, groups, assignments, specs, token_rows, login_rows)


def large_org(scenario: Scenario) -> FakeOrgData:
    """Load the scenario into a fake org, with the rows Salesforce keeps for each part."""
    data = FakeOrgData(org_id="00D5e000000BigCEAA", org_name="BigCorp")
    no_perms = {p: False for p in PERMISSIONS}
    profile_ps: dict[str, str] = {}
    for name in PROFILES:
        admin = name == "System Administrator"
        flags = {p: admin for p in PERMISSIONS}
        flags["PermissionsApiUserOnly"] = name.startswith("Minimum Access")
        profile = data.insert("Profile", Name=name, **flags)
        ps = data.insert("PermissionSet", Name=f"X00ex{profile['Id'][5:15]}", Label=name, IsOwnedByProfile=True,
                         ProfileId=profile["Id"], PermissionSetGroupId=None, Type="Profile", **flags)
        profile_ps[name] = ps["Id"]
    ps_ids = {name: data.insert("PermissionSet", Name=name, Label=name, IsOwnedByProfile=False, ProfileId=None,
                                PermissionSetGroupId=None, Type="Regular", **no_perms)["Id"]
              for name in scenario.permission_sets}
    group_ids: dict[str, tuple[str, str]] = {}
    for name, members in scenario.groups.items():
        group = data.insert("PermissionSetGroup", DeveloperName=name, MasterLabel=name, Status="Updated")
        aggregate = data.insert("PermissionSet", Name=f"{name}_aggregate", Label=name, IsOwnedByProfile=False,
                                ProfileId=None, PermissionSetGroupId=group["Id"], Type="Group", **no_perms)
        group_ids[name] = (group["Id"], aggregate["Id"])
        for member in members:
            data.insert("PermissionSetGroupComponent", PermissionSetGroupId=group["Id"], PermissionSetId=ps_ids[member])
    profile_ids = {row["Name"]: row["Id"] for row in data.tables["Profile"]}
    user_ids: dict[str, str] = {}
    for person in scenario.users:
        row = data.insert("User", Username=person.username, Name=person.username.split("@")[0], IsActive=person.active,
                          ProfileId=profile_ids[person.profile], UserType="Standard")
        user_ids[person.username] = row["Id"]
        data.insert("UserLogin", UserId=row["Id"], IsFrozen=person.frozen, IsPasswordLocked=False,
                    LastModifiedDate=sf_datetime(NOW))
        data.insert("PermissionSetAssignment", AssigneeId=row["Id"], PermissionSetId=profile_ps[person.profile],
                    PermissionSetGroupId=None, ExpirationDate=None, IsActive=True, IsRevoked=False)
    for a in scenario.assignments:
        group_id, aggregate = group_ids[a.group] if a.group else (None, ps_ids[a.permission_set or ""])
        data.insert("PermissionSetAssignment", AssigneeId=user_ids[a.username], PermissionSetId=aggregate,
                    PermissionSetGroupId=group_id, ExpirationDate=a.expires.isoformat() if a.expires else None,
                    IsActive=True, IsRevoked=False)
    for spec in scenario.apps:
        document = connected_app_xml(spec.label, scopes=["Api", "RefreshToken"], admin_approved=spec.admin_approved,
                                     profiles=spec.profiles, permission_sets=spec.permission_sets)
        app = data.insert(
            "ConnectedApplication", Name=spec.label, CreatedDate=sf_datetime(NOW - dt.timedelta(days=900)),
            LastModifiedDate=sf_datetime(NOW - dt.timedelta(days=30)),
            OptionsAllowAdminApprovedUsersOnly=spec.admin_approved, OptionsRefreshTokenValidityMetric=False,
            OptionsHasSessionLevelPolicy=False, OptionsIsInternal=False, RefreshTokenValidityPeriod=None,
            StartUrl=None, MobileStartUrl=None, PinLength=None)
        parents = [profile_ps[p] for p in spec.profiles] + [ps_ids[p] for p in spec.permission_sets] + \
            [group_ids[g][1] for g in spec.groups]
        for parent in parents:
            data.insert("SetupEntityAccess", ParentId=parent, SetupEntityId=app["Id"],
                        SetupEntityType="ConnectedApplication")
        data.add_metadata("ConnectedApp", spec.name, document, record_id=app["Id"])
    for t in scenario.tokens:
        row = data.insert("OauthToken", AppName=t.app_label, AppMenuItemId=None, UserId=user_ids[t.username],
                          CreatedDate=sf_datetime(t.created),
                          LastUsedDate=sf_datetime(t.last_used) if t.last_used else None, UseCount=3)
        row["Id"] = None  # OauthToken.Id is documented as always null
    for login in scenario.logins:
        data.insert("LoginHistory", UserId=user_ids[login.username], LoginTime=sf_datetime(login.time),
                    LoginType=login.login_type, LoginSubType="OauthRefreshToken" if login.login_type == OAUTH_LOGIN
                    else None, Application=login.app_label, Status=login.status, SourceIp="203.0.113.7",
                    LoginUrl="login.salesforce.com", ApiType=None, ApiVersion=None, Browser=None, Platform=None,
                    AuthenticationServiceId=None, CipherSuite=None, CountryIso="US", NetworkId=None,
                    OptionsIsGet=False, OptionsIsPost=True, TlsProtocol="TLS 1.3")
    return data
