from django.urls import path

from shebao.web import login, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/code/", login.login_code_view, name="login_code"),
    path("login/enrol/", login.login_enrol_view, name="login_enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("persons/", views.person_search_view, name="person_search"),
    path("persons/<int:pk>/", views.person_detail_view, name="person_detail"),
    path("persons/<int:pk>/reveal/", views.person_reveal_view, name="person_reveal"),
    path(
        "persons/<int:pk>/revoke-death/",
        views.person_revoke_death_view,
        name="person_revoke_death",
    ),
    path("audit/", views.audit_list_view, name="audit_list"),
    path("audit/export.csv", views.audit_export_view, name="audit_export"),
]
