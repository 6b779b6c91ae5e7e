-- run once by the postgres image on an empty volume: Prefect's database beside MLflow's
CREATE DATABASE prefect OWNER landmark;
