// Drives Debian's chromium (headless) through the Airflow 3 UI's "Add Connection" dialog for the logto type and
// saves two PNGs of the dialog: its standard fields and its extra fields (the accordion opens one at a time).
// Usage: node connection_form.mjs <api-server base URL> <output directory>. Run by connection_form.py.
import { chromium } from 'playwright-core';

const [baseUrl, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 2400 } });
  await page.goto(`${baseUrl}/connections`);
  await page.getByRole('button', { name: 'Add Connection' }).click();
  await page.getByLabel('Connection ID').fill('logto_default');
  await page.getByRole('combobox').fill('Logto');
  await page.keyboard.press('Enter');
  const dialog = page.locator('[role=dialog]');
  await dialog.getByText('Logto endpoint', { exact: true }).waitFor();
  await dialog.screenshot({ path: `${outDir}/logto-connection-form.png` });
  await dialog.getByText('Extra Fields', { exact: true }).click();
  await dialog.getByText('Token cache sharing', { exact: true }).waitFor();
  await page.waitForTimeout(500); // the accordion's animation
  await dialog.screenshot({ path: `${outDir}/logto-connection-form-extras.png` });
} finally {
  await browser.close();
}
