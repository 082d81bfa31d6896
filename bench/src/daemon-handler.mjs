// Handler module of the daemon load script: completes every run at once.
export default async function handler() {
  return undefined;
}
